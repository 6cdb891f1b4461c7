"""Interactive sessions in a shell block: which line opens one, which lines are typed inside it, where it ends.

After a REPL opener (``psql …``, ``redis-cli``, ``mongosh``) the lines typed next are SQL, Redis or Mongo commands.
After a remote-shell opener (``kubectl exec -it … -- bash``, ``docker exec -it … sh``, ``oc rsh pod``, ``oc debug
node/…`` and the ``chroot /host`` typed in it, ``ssh host``) they are shell lines that run *there*, not on the
workstation: language :data:`REMOTE_SHELL`. Sessions nest (``psql`` typed in a pod's shell) and end at
``exit``/``logout``/``\\q``, at a line that plainly runs on the workstation again (``kubectl …`` after a pod's
shell; any known tool after a REPL), or when a console transcript shows again the prompt the session was opened at.
A console prompt that only a container or a debug node shows (``sh-4.4#``, ``I have no name!@pod:/$``, ``/ #``)
marks a remote shell whose opener the block does not show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from drillbook.runbook.effects import KNOWN_TOOLS, kubectl_verb, shell_tokens

REMOTE_SHELL = "remote-shell"
"""Language of a line typed into a shell opened elsewhere: a pod, a container, a debug node, a host reached by ssh."""
REPL_KINDS = frozenset({"sql", "redis", "mongo"})
"""Languages of lines typed into a REPL."""

SESSION_END = re.compile(r"^(?:exit|logout|quit|\\q|\.exit|\\quit|exit\(\))\s*;?$", re.IGNORECASE)
_REPLS = {"psql": "sql", "mysql": "sql", "mariadb": "sql", "sqlite3": "sql", "cqlsh": "sql", "redis-cli": "redis"}
_REPLS.update({"mongo": "mongo", "mongosh": "mongo"})
_SHELLS = frozenset({"bash", "sh", "ash", "zsh", "dash", "/bin/bash", "/bin/sh"})
_CONTAINER_CLIS = frozenset({"docker", "podman", "nerdctl"})
_MAY_OPEN = frozenset({*_REPLS, *_SHELLS, *_CONTAINER_CLIS, "oc", "kubectl", "chroot", "ssh", "sudo"})
"""First words of a command that can open a session (a command with ``--`` is looked at whatever it starts with)."""
_MAY_OPEN_WITHOUT_DASHES = {
    "kubectl": frozenset({"debug"}),
    "oc": frozenset({"debug", "rsh"}),
    **dict.fromkeys(_CONTAINER_CLIS, frozenset({"exec", "run"})),
}
"""For these first words, the verbs that may open a shell with no ``--`` (all other first words: any)."""
_INTERACTIVE = frozenset({"-it", "-ti", "-i", "--stdin", "-t", "--tty", "-itd"})
_LEAVES_REPL = KNOWN_TOOLS | {"sudo"}
"""A line starting with one of these is the next shell command, typed after leaving a REPL without showing it."""
_CLOUD = frozenset({"aws", "gcloud", "gsutil", "az", "terraform", "eksctl", "doctl", "gh", "argocd"})
_WORKSTATION = _CLOUD | {"kubectl", "oc", "helm", "kubectx", "kubens", "k9s", "flux", "istioctl", "velero", "stern"}
"""A line starting with one of these runs on the workstation: typed after leaving a pod's or node's shell."""
_CONTAINER_PROMPT = re.compile(r"^(?:(?:sh|bash|zsh|ash)-\d[\d.]*[$#]|I have no name!@\S*|/[\w/.-]*\s*[#$])$")
"""Prompts a container or a debug node shows (``sh-4.4#``, ``I have no name!@pod-0:/$``, ``/ #``), never a laptop."""
_BARE_PROMPTS = frozenset({"$", "#", "%", ">"})


def _flags(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SSH_VALUE_FLAGS = _flags("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B")
_CONTAINER_VALUE_FLAGS = _flags(
    "-e --env -u --user -w --workdir -v --volume --name --entrypoint --network --net -p --publish --mount "
    "--env-file -l --label --platform --pull -h --hostname --cpus -m --memory --restart --detach-keys "
    "--add-host --dns --cap-add --cap-drop --device --ipc --pid --userns --security-opt --tmpfs"
)
_OC_RSH_VALUE_FLAGS = _flags("-c --container -n --namespace --shell --timeout")


def opened_session(text: str) -> str | None:
    """The session an interactive command opens: ``sql``, ``redis``, ``mongo``, :data:`REMOTE_SHELL`, ``bash`` (a
    shell on this same machine), or ``None`` for a command that runs and ends (``kubectl exec pod -- sh -c '…'``)."""
    if "\n" in text:
        return None
    head = text.split(maxsplit=1)
    if not head or (head[0].rsplit("/", 1)[-1] not in _MAY_OPEN and "=" not in head[0] and "--" not in text):
        return None  # most commands: no client, shell, debug pod or wrapper that could open a session
    words = text.split()
    if "--" not in words and "=" not in words[0] and words[0].rsplit("/", 1)[-1] not in _MAY_OPEN:
        return None
    verbs = _MAY_OPEN_WITHOUT_DASHES.get(words[0])
    if verbs is not None and "--" not in words and not any(verb in words for verb in verbs):
        return None  # "kubectl get pods": kubectl, oc and docker open a shell only with these verbs
    if words[0] == "sudo" or "=" in words[0]:
        words = shell_tokens(text)  # "sudo -u postgres psql", "PGPASSWORD=… psql -h db"
        if not words:
            return None
    first = words[0]
    if first in _CONTAINER_CLIS and "--" not in words:
        inner = _container_command(words)
    else:
        inner = words[words.index("--") + 1 :] if "--" in words else words
    if not inner:
        return _debug_shell(words)
    tool = inner[0].rsplit("/", 1)[-1] if inner[0] not in _SHELLS else inner[0]
    elsewhere = first in ("kubectl", "oc") or first in _CONTAINER_CLIS
    oc_debug = first == "oc" and "debug" in words  # interactive unless told otherwise
    if elsewhere and inner is not words and not oc_debug and not _INTERACTIVE & set(words):
        return None  # "kubectl exec pod -- bash" with no stdin runs a shell that reads nothing and ends
    if tool in _SHELLS and len(inner) == 1:
        return REMOTE_SHELL if elsewhere else "bash"
    if elsewhere and tool in _SHELLS and all(a.startswith("-") and a != "-c" for a in inner[1:]):
        return REMOTE_SHELL  # "kubectl exec -it pod -- /bin/bash -l"
    if elsewhere and inner is not words and tool == "chroot" and len(inner) <= 3:
        return REMOTE_SHELL if _chroot_shell(inner) else None  # "oc debug node/x -- chroot /host"
    if inner is words and first in ("oc", "kubectl", "ssh", "chroot"):
        return _shell_of(words)
    repl = _REPLS.get(tool)
    if repl is None:
        return None
    args = inner[1:]
    if repl == "sql" and any(a in ("-c", "-f", "-e", "--command", "--file", "--execute", "-l") for a in args):
        return None
    if repl == "sql" and any(a.startswith(("-c", "-e")) and len(a) > 2 for a in args):
        return None
    if repl == "redis" and _redis_words(args):
        return None  # redis-cli PING runs one command
    if repl == "mongo" and any(a in ("--eval", "-f", "--file") for a in args):
        return None
    return repl


def _shell_of(words: list[str]) -> str | None:
    """A shell there: ``oc debug node/x``, ``oc rsh pod``, ``kubectl debug -it node/x``, ``ssh host``, ``chroot /x``."""
    first = words[0]
    verb = (kubectl_verb(words)[0] or "") if first in ("oc", "kubectl") else ""  # "oc -n infra debug node/x"
    if first == "oc" and verb == "debug":
        return REMOTE_SHELL
    if first == "kubectl" and verb == "debug":
        return REMOTE_SHELL if _INTERACTIVE & set(words) else None
    if first == "oc" and verb == "rsh":
        return REMOTE_SHELL if len(_positional(words[words.index(verb) + 1 :], _OC_RSH_VALUE_FLAGS)) == 1 else None
    if first == "ssh":
        return REMOTE_SHELL if len(_positional(words[1:], _SSH_VALUE_FLAGS)) == 1 else None
    if first == "chroot":
        return REMOTE_SHELL if _chroot_shell(words) else None
    return None


def _debug_shell(words: list[str]) -> str | None:
    """``oc debug node/x --`` with nothing after the ``--``: still the debug pod's shell."""
    return REMOTE_SHELL if words[0] == "oc" and "debug" in words else None


def _chroot_shell(words: list[str]) -> bool:
    """``chroot /host`` or ``chroot /host bash``: a shell in the new root, not one command run there."""
    rest = _positional(words[1:], frozenset())
    return len(rest) == 1 or (len(rest) == 2 and rest[1] in _SHELLS)


def _container_command(words: list[str]) -> list[str]:
    """The command ``docker exec -it web bash`` / ``docker run --rm -it alpine sh`` runs: ``["bash"]``, ``["sh"]``."""
    if len(words) < 3 or words[1] not in ("exec", "run"):
        return []
    index = 2
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in _CONTAINER_VALUE_FLAGS else 1
    return words[index + 1 :]  # after the container (exec) or the image (run)


def _positional(words: list[str], value_flags: frozenset[str]) -> list[str]:
    found: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in value_flags
        else:
            found.append(word)
    return found


def _redis_words(args: list[str]) -> list[str]:
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-h", "-p", "-a", "-n", "-u", "--user", "--pass", "-s", "-r", "-i", "--tls", "--cacert"):
            skip = arg not in ("--tls",)
        elif not arg.startswith("-"):
            words.append(arg)
    return words


def prompt_session(prompt: str) -> str | None:
    """The REPL a prompt belongs to: ``orders=#`` and ``psql>`` are SQL, ``127.0.0.1:6379>`` is Redis; a shell
    prompt (``$``, ``user@host:~$``) is ``bash``."""
    prompt = prompt.strip()
    if re.search(r"[=(][#>]$|(?:psql|mysql|mariadb|sqlite|postgres|cqlsh)[\w-]*>$", prompt):
        return "sql"
    if re.search(r":\d{2,5}(?:\[\d+\])?>$|^redis", prompt):
        return "redis"
    if re.search(r"mongo|\[(?:primary|secondary)\]", prompt, re.IGNORECASE):
        return "mongo"
    if prompt.endswith(("$", "#", "%")) and not prompt.endswith("=#"):
        return "bash"
    return None


@dataclass
class _Session:
    language: str
    prompt: str
    """The prompt its opener was typed at (``""`` when not shown)."""
    opener: str
    """The opener's program (``kubectl``, ``ssh``, ``docker``; ``""`` when not shown)."""
    moved: bool = False
    """A prompt other than the opener's has been seen since: the opener's prompt coming back means it was left."""


@dataclass
class SessionStack:
    """The sessions open at one line of a shell block, innermost last."""

    _open: list[_Session] = field(default_factory=list)

    @property
    def language(self) -> str:
        """The language a line typed now is in: ``bash`` on the workstation, a REPL's, or :data:`REMOTE_SHELL`."""
        return self._open[-1].language if self._open else "bash"

    def end(self, text: str) -> bool:
        """Whether ``text`` only closes the innermost session (``exit``, ``\\q``); closes it."""
        if SESSION_END.match(text) is None:
            return False
        if self._open:
            self._open.pop()
        return True

    def leave(self, text: str, sql: bool) -> None:
        """Close the sessions a line plainly leaves: a known tool after a REPL (``sql``: the line is SQL, no tool),
        a workstation tool (``kubectl``, ``helm``, a cloud CLI) after a pod's or node's shell."""
        first = text.split(maxsplit=1)[0]
        while self._open:
            top = self._open[-1]
            if top.language in REPL_KINDS:
                if sql or first not in _LEAVES_REPL:
                    return
            elif first not in _leaves_remote(top.opener):
                return
            self._open.pop()

    def opened(self, text: str, prompt: str) -> None:
        """Open the session ``text`` opens, if any (``prompt``: the prompt it was typed at, ``""`` when none)."""
        kind = opened_session(text)
        if kind in REPL_KINDS or kind == REMOTE_SHELL:
            self._open.append(_Session(kind, prompt, text.split(maxsplit=1)[0]))

    def at_prompt(self, prompt: str) -> None:
        """What a console prompt says about the open sessions: a REPL's prompt is that REPL; a shell prompt ends the
        REPLs, and ends a remote shell when it is the prompt its opener was typed at again."""
        prompt = prompt.strip()
        kind = prompt_session(prompt)
        if kind in REPL_KINDS:
            if self._open and self._open[-1].language in REPL_KINDS:
                self._open[-1].language = kind
            else:
                self._open.append(_Session(kind, "", ""))
            return
        if kind != "bash":
            return
        while self._open and self._open[-1].language in REPL_KINDS:
            self._open.pop()
        while self._open and self._open[-1].prompt == prompt and self._open[-1].moved and prompt not in _BARE_PROMPTS:
            self._open.pop()
        if self._open and self._open[-1].prompt != prompt:
            self._open[-1].moved = True
        if not self._open and _CONTAINER_PROMPT.match(prompt):
            self._open.append(_Session(REMOTE_SHELL, "", "", moved=True))  # a container's prompt, opener not shown


def _leaves_remote(opener: str) -> frozenset[str]:
    if opener == "ssh":
        return _CLOUD  # a host reached by ssh may well run kubectl or docker itself
    if opener in _CONTAINER_CLIS:
        return _WORKSTATION | _CONTAINER_CLIS
    return _WORKSTATION
