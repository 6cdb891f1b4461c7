"""The executor's policy: every command is judged *before* it runs.

Decisions, worst part of a line wins (nested commands — ``$(…)``, ``bash -c``, ``kubectl exec --`` — count):

* ``blocked`` — cloud CLIs and remote shells (they leave the sandbox), destructive host commands, docker,
  package installs, git remotes, any host that is not loopback after bindings, and placeholders nothing binds.
* ``captured`` — notifications (Slack, PagerDuty, status pages, mail): never sent; the payload is kept.
* ``missing_tool`` — a tool this machine lacks (helm, npm scripts, mongosh…), reported per step.
* ``bounded`` — commands that never end by themselves, in two kinds (:class:`Lasting`): a *background*
  command (``kubectl port-forward``, ``kubectl proxy``, a line ending in ``&``) is started, waited on until it
  is ready and left running until the incident's steps end (:mod:`drillbook.execute.background`); a
  *follow/watch* command (``-w``, ``-f``, ``watch``, ``top``) runs for a short observation window and counts as
  an observation, not a failure.
* ``manual`` — prose only: not executable unless the drill supplies a command (then ``supplied``).
* ``runs`` — everything else.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from drillbook.execute.contacts import hosts, is_loopback, urls
from drillbook.execute.shell import SHELLS, SUBSTITUTED, Part, split_parts
from drillbook.journal import Decision
from drillbook.runbook.effects import JOURNAL_CHANGES

CLOUD_CLIS = frozenset({"aws", "gcloud", "gsutil", "az", "terraform", "eksctl", "doctl", "pulumi", "heroku", "fly"})
REMOTE_SHELLS = frozenset({"ssh", "scp", "sftp", "rsync", "telnet", "ssh-copy-id", "mosh"})
HOST_DESTRUCTIVE = frozenset(
    {"dd", "shutdown", "reboot", "halt", "poweroff", "init", "telinit", "kill", "pkill", "killall", "fdisk",
     "sfdisk", "parted", "wipefs", "shred", "systemctl", "service", "iptables", "ip6tables", "nft", "ufw", "mount",
     "umount", "swapoff", "useradd", "userdel", "usermod", "passwd", "chpasswd", "crontab", "modprobe", "rmmod",
     "insmod", "sysctl", "chroot"}
)  # fmt: skip
NET_CHANGE_VERBS = frozenset({"add", "del", "delete", "change", "replace", "flush", "append", "prepend", "set"})
HOST_CONTROLS = frozenset({"timedatectl", "hostnamectl", "localectl", "loginctl", "resolvectl", "networkctl"})
HOST_ESCAPES = frozenset({"nsenter", "unshare", "systemd-run"})
HOST_TUNERS = frozenset({"renice", "fstrim"})
PACKAGE_MANAGERS = frozenset(
    {"pip", "pip3", "pipx", "apt", "apt-get", "aptitude", "yum", "dnf", "apk", "brew", "gem", "cargo", "conda",
     "snap", "npx", "pnpm", "poetry", "uv"}
)  # fmt: skip
CONTAINER_TOOLS = frozenset({"docker", "docker-compose", "podman", "nerdctl", "crictl", "ctr", "kind", "minikube"})
NOTIFY_HOSTS = ("hooks.slack.com", "slack.com", "pagerduty.com", "statuspage.io", "opsgenie.com", "discord.com")
NOTIFY_PROGRAMS = frozenset({"slack", "mail", "sendmail", "mailx", "mutt", "pd-send", "pagerduty", "page", "email"})
SHELL_BUILTINS = frozenset(
    {"echo", "cd", "export", "set", "unset", "test", "[", "[[", "true", "false", "printf", "read", "sleep", "for",
     "done", "fi", "while", "source", ".", "wait", "exit", "local", "let", "eval", "trap", "alias", "case", "esac",
     "return", "shift", "type", "ulimit", "umask", "declare", "readonly", "function", "pushd", "popd", ":"}
)  # fmt: skip
FILE_CHANGERS = frozenset(
    {"cp", "mv", "tee", "ln", "truncate", "chmod", "chown", "chgrp", "install", "touch", "mkdir", "rm", "rmdir",
     "unlink", "chattr", "setfacl"}
)  # fmt: skip
SANDBOX_VARIABLES = frozenset(
    {"KUBECONFIG", "HOME", "PATH", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy",
     "DOCKER_HOST", "PGSERVICEFILE", "PGSYSCONFDIR", "LD_PRELOAD", "GIT_CEILING_DIRECTORIES"}
)  # fmt: skip
"""Variables the sandboxed shell sets; a command that overrides them would talk to something else."""
GIT_REMOTE_VERBS = frozenset({"clone", "fetch", "pull", "push", "ls-remote", "remote", "submodule"})
JSON_ENDPOINTS = ("hooks.slack.com", "events.pagerduty.com", "api.pagerduty.com", "statuspage.io", "opsgenie.com")
KUBECTL_OVERRIDES = frozenset(
    {"--context", "--cluster", "--user", "--server", "-s", "--kubeconfig", "--token", "--as", "--as-group",
     "--as-uid", "--username", "--password", "--certificate-authority", "--client-certificate", "--client-key",
     "--insecure-skip-tls-verify", "--tls-server-name"}
)  # fmt: skip
"""kubectl flags that point it at another cluster, context or identity than the sandbox's pinned one."""
KUBECTL_CONFIG_CHANGES = frozenset(
    {"use-context", "use", "set-context", "set-cluster", "set-credentials", "set", "unset", "delete-context",
     "delete-cluster", "delete-user", "rename-context"}
)  # fmt: skip
"""``kubectl config`` verbs that change which cluster later commands reach."""
_SAFE_WRITE = re.compile(r"^/(?:dev/(?:null|stdout|stderr|fd/\d+)|tmp/)")
_REDIRECTIONS = frozenset({">", ">>", ">|", "&>", "&>>", ">&"})

BOUNDED_DEADLINE_S = 8.0
"""A follow/watch command (``-w``, ``-f``, ``watch``) is observed this long and then counts as done."""
OBSERVED = "a follow/watch command: observed for its window, then stopped; counted as an observation, not a failure"
BACKGROUNDED = "runs on by design: started in the background, waited on until ready, ended when the steps end"


class Lasting(StrEnum):
    """How a command that never ends by itself is rehearsed."""

    BACKGROUND = "background"
    """Started, waited on until ready, and left running for the later steps (``kubectl port-forward``, ``… &``)."""
    OBSERVE = "observe"
    """Watched for a bounded window, then stopped (``kubectl logs -f``, ``kubectl get -w``, ``tail -f``)."""


@dataclass(frozen=True)
class Judgement:
    """What the policy decided for one command, and why."""

    decision: Decision
    reason: str = ""
    payload: str = ""
    """For a captured notification: the message that would have been sent."""
    lasting: Lasting | None = None
    """For a ``bounded`` command: whether it runs on in the background or is observed for a window."""


def judge(text: str, unresolved: Sequence[str], tool_dirs: Sequence[Path]) -> Judgement:
    """Judge a command as it will run (bindings already applied)."""
    parts = split_parts(text)
    judgements: list[Judgement] = []
    moved_out = False  # after `cd /etc` or `cd ..`, a relative path is outside the step's directory too
    for part in parts:
        judgements.append(_judge_part(part, tool_dirs, moved_out))
        if part.program in {"cd", "pushd"}:
            target = next((a for a in part.args if not a.startswith("-")), "~")
            moved_out = moved_out or (not target.startswith("~") and _outside_workdir(target.rstrip("/") + "/"))
    judgements = judgements or [Judgement(Decision.RUNS)]
    worst = _worst(judgements)
    if worst.decision is Decision.RUNS and (note := _pod_loopback_note(parts)):
        worst = Judgement(Decision.RUNS, note)
    if worst.decision in (Decision.RUNS, Decision.BOUNDED):
        worst = _lasting(text, parts, worst)
    if unresolved:
        unbound = f"{', '.join(unresolved)}: not bound to anything in the sandbox (see the scenario's bindings.yaml)"
        if worst.decision is Decision.CAPTURED:  # never sent anyway: the placeholder only stays in the payload
            return Judgement(Decision.CAPTURED, f"{worst.reason} ({unbound})", worst.payload)
        return Judgement(Decision.BLOCKED, unbound)
    return worst


def _pod_loopback_note(parts: Sequence[Part]) -> str:
    """What the report must say when a command run inside a pod contacts ``localhost``: on the embedded platform
    the pod's loopback is this machine's, so it reaches the host, not the pod (a real cluster differs)."""
    for part in parts:
        if part.via == "kubectl exec" and any(is_loopback(host) for host in hosts(part)):
            return (
                "runs, but differs from a real cluster: inside `kubectl exec` on the embedded platform, localhost is "
                "this machine's loopback, not the pod's own address (see docs/platform-differences.md)"
            )
    return ""


def judge_notification(text: str) -> Judgement:
    """A prose notification ("Slack: @incident-commander DECLARE P1"): captured with its text as the payload."""
    return Judgement(Decision.CAPTURED, "notification: captured, never sent", text)


def _worst(judgements: Sequence[Judgement]) -> Judgement:
    for decision in (Decision.BLOCKED, Decision.CAPTURED, Decision.MISSING_TOOL, Decision.BOUNDED):
        for judgement in judgements:
            if judgement.decision is decision:
                return judgement
    return Judgement(Decision.RUNS)


def _judge_part(part: Part, tool_dirs: Sequence[Path], moved_out: bool = False) -> Judgement:
    program, args = part.program, part.args
    where = f" (run by {part.via})" if part.via else ""
    notifies = any(host in part.text for host in NOTIFY_HOSTS) or any(h.startswith("status.") for h in hosts(part))
    if program.rstrip(":").lower() in NOTIFY_PROGRAMS or notifies:
        return _captured(part)
    refusal = _refusal(part, moved_out)
    if refusal:
        return Judgement(Decision.BLOCKED, refusal + where)
    for host in hosts(part):
        if "<" in host or "{" in host or host.startswith("$"):
            return Judgement(Decision.BLOCKED, f"unbound host {host}{where}: nothing in the sandbox binds it")
        if not is_loopback(host):
            return Judgement(
                Decision.BLOCKED, f"{host} is not in the sandbox{where} (only loopback and bound hosts are reached)"
            )
    if program in {"npm", "yarn"}:  # what they act on (package.json, node_modules) is the app's repository
        return Judgement(Decision.MISSING_TOOL, f"{program} needs the app's repository; the sandbox has none")
    # In a pod the image decides which tools exist; on the host, PATH does.
    if part.via != "kubectl exec" and program and program not in SHELL_BUILTINS and not _installed(program, tool_dirs):
        return Judgement(Decision.MISSING_TOOL, f"{program} is not installed on this machine")
    lasting = _never_ends(program, args)
    if lasting is Lasting.BACKGROUND:
        return Judgement(Decision.BOUNDED, BACKGROUNDED, lasting=lasting)
    if lasting is Lasting.OBSERVE:
        return Judgement(Decision.BOUNDED, OBSERVED, lasting=lasting)
    return Judgement(Decision.RUNS)


def _lasting(text: str, parts: Sequence[Part], worst: Judgement) -> Judgement:
    """The line's own lasting: a trailing ``&`` backgrounds it; a port-forward sent to the background with ``&``
    and followed by more commands (``kubectl port-forward … & sleep 2; curl …``) ends with the line."""
    tokens = _tokens(text)
    if tokens and tokens[-1] == "&" and (len(tokens) < 2 or tokens[-2] not in _REDIRECTIONS):
        return Judgement(Decision.BOUNDED, BACKGROUNDED + " (the line ends in &)", lasting=Lasting.BACKGROUND)
    if worst.lasting is Lasting.BACKGROUND and "&" in tokens[:-1] and len(parts) > 1:
        return Judgement(Decision.RUNS, "its background part runs while the rest of the line runs, and ends with it")
    return worst


def _tokens(text: str) -> list[str]:
    try:
        return list(shlex.shlex(text, posix=True, punctuation_chars=True))
    except ValueError:
        return []


def _refusal(part: Part, moved_out: bool = False) -> str:
    """Why this part must not run at all, or ``""``."""
    program, args = part.program, part.args
    if program in CLOUD_CLIS:
        return f"{program} is a cloud CLI: it would leave the sandbox"
    if program in REMOTE_SHELLS:
        return f"{program} reaches hosts outside the sandbox"
    if program in CONTAINER_TOOLS:
        return f"{program} acts on the host's containers, not the sandbox"
    if program in HOST_DESTRUCTIVE or program.startswith("mkfs") or _removes_recursively(program, args):
        return f"{program} is a destructive host command"
    admin = _host_admin(program, args)
    if admin:
        return admin
    if program in PACKAGE_MANAGERS or _installs(program, args):
        return f"{program} reaches a package registry on the internet (and may change the host)"
    if program == "git" and any(a in GIT_REMOTE_VERBS for a in args[:3]):
        return "git talks to a remote repository outside the sandbox"
    if program == "kubectl":
        refusal = _kubectl_override(args)
        if refusal:
            return refusal
    if program in SHELLS or program in {"source", "."}:
        refusal = _shell_reads_unseen_code(part)
        if refusal:
            return refusal
    if program == "eval" and any(SUBSTITUTED in a for a in args):
        return "eval runs text computed at run time ($(…)), which cannot be checked before it runs"
    target = _host_write(part.text, moved_out) or _host_path_change(program, args, moved_out)
    if target:
        return f"changes {target} on the host (only the step's own directory and /tmp may be written)"
    variable = next((w.split("=", 1)[0] for w in _assigned(part) if w.split("=", 1)[0] in SANDBOX_VARIABLES), None)
    if variable is not None:
        return f"setting {variable} would point the command away from the sandbox's own {variable}"
    if program.startswith(("python", "node", "perl", "ruby")) and any(a in {"-c", "-e"} for a in args):
        code = " ".join(args)
        if re.search(r"socket|urllib|requests|https?\b|net/http|IO::Socket|fetch\(", code):
            return f"inline {program} code that opens network connections cannot be checked before it runs"
    return ""


def _host_admin(program: str, args: Sequence[str]) -> str:
    """Why a host-administration command must not run (it changes the machine the drill runs on, not the
    sandbox), or ``""``. Read-only uses (``ip addr show``, ``journalctl -u api``, ``tc qdisc show``) pass."""
    words = [a for a in args if not a.startswith("-")]
    if program == "journalctl" and any(a.startswith(JOURNAL_CHANGES) for a in args):
        return "journalctl --vacuum/--rotate/--flush changes the host's journal, not the sandbox's"
    if program in {"ip", "tc", "bridge"} and set(words) & NET_CHANGE_VERBS:
        return f"{program} {' '.join(words[:2])} changes the host's network, not the sandbox's"
    changing = ("set-", "terminate-", "kill-", "enable", "disable")
    if program in HOST_CONTROLS and any(w.startswith(changing) for w in words):
        return f"{program} {words[0]} changes the host, not the sandbox"
    if program in HOST_ESCAPES:
        return f"{program} runs a command outside the step's containment (another namespace or a host unit)"
    if program in HOST_TUNERS:
        return f"{program} changes the host's processes or disks, not the sandbox's"
    return ""


def _kubectl_override(args: Sequence[str]) -> str:
    """Why kubectl's own arguments (not the pod's command after ``--``) point it away from the sandbox, or ``""``."""
    own = list(args[: list(args).index("--")]) if "--" in args else list(args)
    verbs = [a for a in own if not a.startswith("-")]
    if verbs[:1] == ["config"] and len(verbs) > 1 and verbs[1] in KUBECTL_CONFIG_CHANGES:
        return f"kubectl config {verbs[1]} would point later commands away from the sandbox's pinned cluster"
    flag = next((a.split("=", 1)[0] for a in own if a.split("=", 1)[0] in KUBECTL_OVERRIDES), None)
    if flag is not None:
        return f"kubectl {flag} would point kubectl away from the sandbox's pinned cluster and identity"
    return ""


def _shell_reads_unseen_code(part: Part) -> str:
    """A shell whose script is built at run time (``… | bash``, ``bash <(…)``, ``source <(…)``), or ``""``."""
    args = part.args
    if any(SUBSTITUTED in a for a in args[:1]) or (
        part.program in {"source", "."} and any(SUBSTITUTED in a for a in args)
    ):
        return f"{part.program} runs a script produced at run time (<(…)), which cannot be checked before it runs"
    script_given = any(a in {"-c"} or not a.startswith("-") for a in args)
    if part.piped and part.program in SHELLS and not script_given:
        return (
            f"{part.program} runs a script piped into it (… | {part.program}), which cannot be checked before it runs"
        )
    return ""


def _assigned(part: Part) -> list[str]:
    """``NAME=value`` words: before the program, and the arguments of ``export``/``env``/``declare``."""
    words = list(part.assignments)
    if part.program in {"export", "env", "declare", "typeset", "readonly", "local"}:
        words.extend(a for a in part.args if "=" in a)
    return words


def _host_path_change(program: str, args: Sequence[str], moved_out: bool = False) -> str:
    """The host path a file-changing command touches outside the step's directory and /tmp, or ``""``.

    ``~`` is the step's throwaway HOME, so paths under it are allowed.
    """
    changes = (
        program in FILE_CHANGERS
        or (program == "sed" and any(a.startswith("-i") for a in args))
        or (program == "find" and any(a in {"-delete", "-exec", "-execdir"} for a in args))
        or (program == "kubectl" and list(args[:1]) == ["cp"])
    )
    if not changes:
        return ""
    positional = [a for a in args if not a.startswith("-")]
    if program in {"cp", "ln", "install", "kubectl"}:  # only the destination is changed
        positional = positional[-1:]
    return next((p for p in positional if _outside_workdir(p, moved_out)), "")


def _outside_workdir(path: str, moved_out: bool = False) -> bool:
    """A write target outside the step's directory and /tmp: absolute elsewhere, or relative with ``..`` above it
    (or any relative path once the line has ``cd``-ed out of the step's directory)."""
    if path.startswith("~"):
        return False  # the step's throwaway HOME
    if path.startswith("/"):
        return not _SAFE_WRITE.match(path)
    return moved_out or posixpath.normpath(path).split("/", 1)[0] == ".."


def _removes_recursively(program: str, args: Sequence[str]) -> bool:
    recursive = any(a in {"--recursive", "-R"} or (re.fullmatch(r"-[a-zA-Z]+", a) and "r" in a) for a in args)
    return program in {"rm", "rmdir"} and bool(recursive)


def _installs(program: str, args: Sequence[str]) -> bool:
    """``npm install``, ``go get``, ``python -m pip install``: they download and change the host."""
    first = args[0] if args else ""
    if program in {"npm", "yarn"}:  # these reach the package registry
        return first in {"install", "i", "ci", "add", "publish", "update", "upgrade", "exec", "dlx", "audit", "view",
                         "info", "outdated", "login", "search", "unpublish", "deprecate", "dist-tag"}  # fmt: skip
    if program == "go":
        return first in {"get", "install", "mod"}
    return program.startswith("python") and list(args[:2]) == ["-m", "pip"]


def _host_write(text: str, moved_out: bool = False) -> str:
    """The host path an output redirection writes to, outside the step's directory and /tmp, or ``""``."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        tokens = list(lexer)
    except ValueError:
        return ""
    for index, token in enumerate(tokens[:-1]):
        target = tokens[index + 1]
        if token in _REDIRECTIONS and not target.startswith("&") and _outside_workdir(target, moved_out):
            return target
    return ""


def _installed(program: str, tool_dirs: Sequence[Path]) -> bool:
    if "/" in program:
        return Path(program).exists()
    path = ":".join(str(d) for d in tool_dirs) or None
    return shutil.which(program, path=path) is not None


def _never_ends(program: str, args: Sequence[str]) -> Lasting | None:
    """How a command that does not end by itself is rehearsed, or ``None`` for one that ends."""
    observe = Lasting.OBSERVE
    if program in {"watch", "htop", "iotop", "less", "more", "vim", "vi", "nano"} or (
        program == "top" and "-b" not in args
    ):
        return observe
    if program in {"vmstat", "iostat", "mpstat", "pidstat", "sar"}:  # "iostat -x 1": an interval and no count
        numbers = [a for a in args if a.isdigit()]
        return observe if len(numbers) == 1 else None
    if program == "kubectl":
        # Words after `--` belong to the command run in the pod (psql's -w is "no password", not "watch").
        args = args[: list(args).index("--")] if "--" in args else args
        verb = next((a for a in args if not a.startswith("-")), "")
        if verb in {"port-forward", "proxy"}:
            return Lasting.BACKGROUND  # later steps use what it serves
        if any(a in {"-w", "--watch", "--watch-only"} for a in args):
            return observe
        if verb in {"logs", "attach"} and any(a in {"-f", "--follow"} for a in args):
            return observe
    if program == "tail" and any(a in {"-f", "-F", "--follow"} for a in args):
        return observe
    if program == "ping" and not any(a == "-c" or a.startswith("-c") for a in args):
        return observe
    if program == "redis-cli" and any(a.lower() in {"monitor", "subscribe", "psubscribe"} for a in args):
        return observe
    return None


def _captured(part: Part) -> Judgement:
    """A notification, kept and never sent; a payload that claims to be JSON is checked."""
    words = part.args
    targets = urls(part.text)
    for index, word in enumerate(words):
        if word in {"-d", "--data", "--data-raw", "--data-binary", "--json"} and index + 1 < len(words):
            data = words[index + 1]
            claims_json = any(t in part.text for t in JSON_ENDPOINTS) or "application/json" in part.text.lower()
            try:
                pretty = json.dumps(json.loads(data), indent=2)
            except ValueError as exc:
                if claims_json:
                    return Judgement(
                        Decision.CAPTURED,
                        f"notification: captured, never sent; its payload claims to be JSON but is not ({exc})",
                        data,
                    )
                return Judgement(Decision.CAPTURED, "notification: captured, never sent", data)
            return Judgement(Decision.CAPTURED, "notification: captured, never sent (payload is valid JSON)", pretty)
    message = re.sub(r"\s+", " ", part.text)
    payload = f"{message} (to {targets[0]})" if targets else message
    return Judgement(Decision.CAPTURED, "notification: captured, never sent", payload)


MAX_COMMAND_DEADLINE_S = 600.0
"""The longest a command may run in a drill, whatever its own ``--timeout`` asks for (a per-drill maximum)."""
_OWN_TIMEOUT_GRACE_S = 5.0
"""A command given ``--timeout=5m`` is allowed a little longer, so that its own timeout, not ours, ends it."""
_GO_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")
_TIMEOUT_FLAGS = frozenset({"--timeout", "--request-timeout", "--wait-timeout"})


def command_deadline(text: str, default_s: float, max_s: float = MAX_COMMAND_DEADLINE_S) -> tuple[float, str]:
    """How long a command may run: its own timeout (``kubectl rollout status --timeout=5m``, ``timeout 90 …``)
    plus a grace, at least ``default_s``, at most ``max_s``; and why, when its own timeout decided it."""
    own = max((seconds for part in split_parts(text) if (seconds := _own_timeout(part)) is not None), default=None)
    if own is None or own + _OWN_TIMEOUT_GRACE_S <= default_s:
        return default_s, ""
    if own + _OWN_TIMEOUT_GRACE_S > max_s:
        return max_s, f"its own timeout ({own:.0f} s) is longer than the drill's maximum of {max_s:.0f} s a command"
    return own + _OWN_TIMEOUT_GRACE_S, f"its own timeout of {own:.0f} s"


def _own_timeout(part: Part) -> float | None:
    """The timeout a part sets itself, in seconds (``None``: it sets none)."""
    args = list(part.args)
    before = list(part.words[: max(part.index, 0)])
    if "timeout" in before:  # ``timeout 90 cmd``: the wrapper's first positional word is the duration
        value = next((a for a in before[before.index("timeout") + 1 :] if not a.startswith("-")), None)
        return _duration(value)
    for index, arg in enumerate(args):
        flag, _, value = arg.partition("=")
        if flag in _TIMEOUT_FLAGS:
            value = value or (args[index + 1] if index + 1 < len(args) else "")
            if part.program == "kubectl" or value[-1:].isalpha():
                return _duration(value)
    return None


def _duration(value: str | None) -> float | None:
    """``5m`` / ``300s`` / ``1h30m`` / ``90`` (seconds) → seconds; ``0`` (kubectl: wait forever) → ``None``."""
    if not value:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?[smhd]", value) and value[-1] in "hd":
        return float(value[:-1]) * (3600 if value[-1] == "h" else 86400)
    if value.isdigit():
        seconds = float(value)
        return seconds if seconds > 0 else None
    match = _GO_DURATION.match(value)
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds + millis / 1000
    return total if total > 0 else None
