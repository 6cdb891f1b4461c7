"""Lines typed into a REPL (``psql``, ``redis-cli``, ``mongosh``) run in that REPL, never as shell commands.

The parser reads ``redis-cli -h <REDIS_HOST>`` followed by ``INFO clients`` as one opener and one line typed into
it (language ``redis``). A drill has no terminal to type into, so each typed line runs as one call of the client
the runbook opened, with the opener's own connection flags: ``redis-cli -h 127.0.0.5 INFO clients``, ``psql -h …
-v ON_ERROR_STOP=1 -c 'SELECT …'``, ``mongosh … --quiet --eval 'db.stats()'``. The opener itself runs as a
connection check (``PING``, ``\\conninfo``, ``ping``), so a wrong host or password fails where the runbook opens the
session. A typed line whose opener the step does not show (a console transcript with only the ``6379>`` prompt)
goes to the bare client, which the sandbox's shims and variables point at the sandbox's own server.

Lines typed into a remote shell (language ``remote-shell``: after ``kubectl exec -it pod -- bash``) run the same
way, one call each through the opener without its terminal flags: ``kubectl exec -i pod -- sh -c 'df -h'``; the
opener runs as ``kubectl exec pod -- true``. A REPL opened inside that shell runs through it too. A shell the
sandbox cannot replay (``oc debug node/…``, ``ssh host``, ``docker exec -it …``, ``kubectl run -it … -- sh``), or
one whose opener the step does not show, makes its lines :class:`Unreachable`: they are reported, never run on
this machine.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from drillbook.runbook.effects import kubectl_verb, shell_tokens
from drillbook.runbook.model import Command
from drillbook.runbook.sessions import REMOTE_SHELL, opened_session

REPL_LANGUAGES = frozenset({"sql", "redis", "mongo"})
"""Command languages that are lines typed into a REPL rather than shell lines."""

_DEFAULT_CLIENT = {"sql": "psql", "redis": "redis-cli", "mongo": "mongosh"}
_TTY_FLAGS = frozenset({"-t", "--tty", "--tty=true"})
_STDIN_TTY_FLAGS = frozenset({"-it", "-ti"})
_PLACEHOLDER = re.compile(r"<[A-Za-z][\w.\- ]{0,40}>")
_INPUT_TOKENS = frozenset({"<", "<<", "<<<", "|", "||", "&&", ";", "&"})
_STDIN_FLAGS = frozenset({"-i", "--stdin", "--stdin=true"})
_SHELL_SYNTAX = re.compile(r"[;&|<>$`(){}\\*?\[]")


@dataclass(frozen=True)
class Unreachable:
    """A typed line the sandbox cannot run where the runbook means it to run: never run on this machine instead."""

    reason: str
    """Why, as the report says it (where the line is typed, and what the sandbox lacks)."""
    opener: str = ""
    """The command that opened its session as written (``""``: the step does not show it)."""


@dataclass
class Sessions:
    """The sessions one step has opened so far: each REPL's opener by language, and the remote shell."""

    openers: dict[str, str] = field(default_factory=dict)
    shell: str | None = None
    """What a line typed into the step's remote shell runs through (``kubectl exec -i pod -n x --``), when the
    sandbox can replay that shell."""
    shell_opener: str = ""
    """The remote shell's opener as written (kept when the sandbox cannot replay it, to say why)."""
    refused: dict[str, Unreachable] = field(default_factory=dict)
    """REPLs opened inside a shell the sandbox cannot replay: their typed lines are unreachable too."""

    def open(self, command: Command) -> str | None:
        """When ``command`` opens a session, remember it and return the connection check to run in its place."""
        if command.language not in ("bash", REMOTE_SHELL):
            return None
        language = opened_session(" ".join(shell_tokens(command.text)))  # also "sudo -u postgres psql"
        if command.language == "bash" and language != REMOTE_SHELL:
            self.shell, self.shell_opener = None, ""  # a workstation line: whatever shell was open has ended
        if _reads_input(command.text):
            return None
        if command.language == REMOTE_SHELL:
            return self._open_inside(command, language)
        if language == REMOTE_SHELL:
            self.shell, self.shell_opener = _exec_prefix(command.text), command.text
            return _shell_check(command.text) if self.shell is not None else None
        if language not in REPL_LANGUAGES:
            return None
        opener = _without_tty(command.text)
        self.openers[language] = opener
        self.refused.pop(language, None)
        return _connection_check(opener, language)

    def _open_inside(self, command: Command, language: str | None) -> str | None:
        """A REPL opened inside the remote shell (``psql -U app`` typed in the pod) runs through that shell."""
        if language not in REPL_LANGUAGES:
            return None
        if self.shell is None:
            why = f"typed into `{command.text}`, opened inside {self._where()}"
        elif _SHELL_SYNTAX.search(_PLACEHOLDER.sub("X", command.text)) is not None:
            why = f"typed into `{command.text}`, whose shell syntax only the pod's own shell would expand"
        else:
            opener = f"{self.shell} {command.text}"
            self.openers[language] = opener
            self.refused.pop(language, None)
            return _connection_check(opener, language)
        self.refused[language] = Unreachable(why, self.shell_opener)
        return None

    def feed(self, command: Command) -> str | Unreachable | None:
        """The shell line that runs a line typed into a session, :class:`Unreachable` when the sandbox cannot run it
        there, or ``None`` when ``command`` is a line of the workstation's own shell."""
        if command.language == REMOTE_SHELL:
            if self.shell is None:
                return Unreachable(f"typed into {self._where()}", self.shell_opener)
            typed = f"{self.shell} sh -c {shlex.quote(command.text)}"
            if opened_session(" ".join(shell_tokens(command.text))) == REMOTE_SHELL:
                # "ssh db-1" typed in the pod: the lines after it run on db-1, until an exit the step does not show.
                self.shell, self.shell_opener = None, command.text
            return typed
        if command.language not in REPL_LANGUAGES:
            return None
        if command.language in self.refused:
            return self.refused[command.language]
        opener = self.openers.get(command.language, _DEFAULT_CLIENT[command.language])
        if command.language == "redis":
            return f"{opener} {' '.join(shlex.quote(word) for word in _redis_words(command.text))}"
        if command.language == "mongo":
            return f"{opener} --quiet --eval {shlex.quote(command.text)}"
        if _client(opener) in ("mysql", "mariadb"):
            return f"{opener} -e {shlex.quote(command.text)}"
        return f"{opener} -v ON_ERROR_STOP=1 -c {shlex.quote(command.text)}"

    def opener(self, command: Command) -> str:
        """The opener a typed line runs through (its placeholders must be bound too); ``""`` for none."""
        if command.language == REMOTE_SHELL:
            return self.shell_opener if self.shell is not None else ""
        return self.openers.get(command.language, "")

    def _where(self) -> str:
        if not self.shell_opener:
            return "a shell whose opener the step does not show (a pod's, a node's or another host's prompt)"
        return f"the shell `{self.shell_opener}` opens, which the sandbox cannot replay (only `kubectl exec` shells)"


def _connection_check(opener: str, language: str) -> str:
    """What runs where the runbook opens the session: the client with a command that only checks the connection."""
    if language == "redis":
        return f"{opener} PING"
    if language == "mongo":
        return f"{opener} --quiet --eval {shlex.quote('db.runCommand({ ping: 1 })')}"
    if _client(opener) in ("mysql", "mariadb"):
        return f"{opener} -e status"
    if _client(opener) == "psql":
        return f"{opener} -c '\\conninfo'"
    return opener  # sqlite3, cqlsh: with no terminal on stdin they read nothing and exit


def _exec_prefix(opener: str) -> str | None:
    """``kubectl exec -it api-0 -n x -- bash`` → ``kubectl exec -i api-0 -n x --``: what each typed line runs
    through (``None`` for any other shell: ``oc``, ``ssh``, ``docker``, ``kubectl run``/``debug``)."""
    words = opener.split()
    tokens = shell_tokens(opener)
    if not tokens or tokens[0] != "kubectl" or "--" not in words or kubectl_verb(tokens)[0] != "exec":
        return None
    own = _without_tty(opener).split()
    end = own.index("--")
    if not _STDIN_FLAGS & set(own[:end]):
        own.insert(end, "-i")
        end += 1
    return " ".join(own[: end + 1])


def _shell_check(opener: str) -> str:
    """Where the runbook opens a pod's shell: ``kubectl exec api-0 -n x -- true`` (the pod is there and runs)."""
    words = _without_tty(opener).split()
    end = words.index("--")
    return " ".join([*(w for w in words[:end] if w not in _STDIN_FLAGS), "--", "true"])


def _client(opener: str) -> str:
    """The REPL program of an opener: ``psql`` in ``kubectl exec -i db-0 -- psql -U app``."""
    words = opener.split()
    inner = shell_tokens(" ".join(words[words.index("--") + 1 :] if "--" in words else words))
    return inner[0].rsplit("/", 1)[-1] if inner else ""


def _without_tty(opener: str) -> str:
    """``kubectl exec -it redis-0 -- redis-cli`` asks for a terminal a drill does not have: keep ``-i`` only."""
    words = opener.split()
    if "--" not in words:
        return opener
    end = words.index("--")
    own = ["-i" if w in _STDIN_TTY_FLAGS else w for w in words[:end] if w not in _TTY_FLAGS]
    return " ".join([*own, *words[end:]])


def _reads_input(text: str) -> bool:
    """``psql … < dump.sql`` or ``cat x | redis-cli`` reads a file or a pipe, not lines typed at a prompt."""
    try:
        # "<DB_HOST>" is a placeholder, "< dump.sql" a redirect.
        tokens = list(shlex.shlex(_PLACEHOLDER.sub("X", text), posix=True, punctuation_chars=True))
    except ValueError:
        return True  # an unbalanced quote: not a plain session opener
    return any(token in _INPUT_TOKENS for token in tokens)


def _redis_words(line: str) -> list[str]:
    """The words redis-cli makes of a typed line (quotes group words, as its own prompt does)."""
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()
