"""Lines typed into a REPL (``psql``, ``redis-cli``, ``mongosh``) run in that REPL, never as shell commands.

The parser reads ``redis-cli -h <REDIS_HOST>`` followed by ``INFO clients`` as one opener and one line typed into
it (language ``redis``). A drill has no terminal to type into, so each typed line runs as one call of the client
the runbook opened, with the opener's own connection flags: ``redis-cli -h 127.0.0.5 INFO clients``, ``psql -h …
-v ON_ERROR_STOP=1 -c 'SELECT …'``, ``mongosh … --quiet --eval 'db.stats()'``. The opener itself runs as a
connection check (``PING``, ``\\conninfo``, ``ping``), so a wrong host or password fails where the runbook opens the
session. A typed line whose opener the step does not show (a console transcript with only the ``6379>`` prompt)
goes to the bare client, which the sandbox's shims and variables point at the sandbox's own server.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from drillbook.runbook.commands import opened_session
from drillbook.runbook.effects import shell_tokens
from drillbook.runbook.model import Command

REPL_LANGUAGES = frozenset({"sql", "redis", "mongo"})
"""Command languages that are lines typed into a REPL rather than shell lines."""

_DEFAULT_CLIENT = {"sql": "psql", "redis": "redis-cli", "mongo": "mongosh"}
_TTY_FLAGS = frozenset({"-t", "--tty", "--tty=true"})
_STDIN_TTY_FLAGS = frozenset({"-it", "-ti"})
_PLACEHOLDER = re.compile(r"<[A-Za-z][\w.\- ]{0,40}>")
_INPUT_TOKENS = frozenset({"<", "<<", "<<<", "|", "||", "&&", ";", "&"})


@dataclass
class Sessions:
    """The REPLs one step has opened so far: the command line that opened each, by language."""

    openers: dict[str, str] = field(default_factory=dict)

    def open(self, command: Command) -> str | None:
        """When ``command`` opens a REPL, remember it and return the connection check to run in its place."""
        if command.language != "bash" or _reads_input(command.text):
            return None
        language = opened_session(" ".join(shell_tokens(command.text)))  # also "sudo -u postgres psql"
        if language not in REPL_LANGUAGES:
            return None
        opener = _without_tty(command.text)
        self.openers[language] = opener
        return _connection_check(opener, language)

    def feed(self, command: Command) -> str | None:
        """The shell line that runs a line typed into a REPL, or ``None`` when ``command`` is a shell line."""
        if command.language not in REPL_LANGUAGES:
            return None
        opener = self.openers.get(command.language, _DEFAULT_CLIENT[command.language])
        if command.language == "redis":
            return f"{opener} {' '.join(shlex.quote(word) for word in _redis_words(command.text))}"
        if command.language == "mongo":
            return f"{opener} --quiet --eval {shlex.quote(command.text)}"
        if _client(opener) in ("mysql", "mariadb"):
            return f"{opener} -e {shlex.quote(command.text)}"
        return f"{opener} -v ON_ERROR_STOP=1 -c {shlex.quote(command.text)}"


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
