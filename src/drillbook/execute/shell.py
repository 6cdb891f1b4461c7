"""Reading shell command lines the way a shell would, enough to judge them before they run.

A line is split into parts at ``|``, ``&&``, ``||``, ``;`` and newlines (outside quotes), each part into
words (``shlex``), and every host a part would contact is extracted: URLs anywhere, ``-h``/``--host`` of
database clients, ``user@host`` of ssh-like tools, connection strings.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

_SEPARATORS = ("&&", "||", "|", ";", "\n")
_URL = re.compile(r"""\b(?:https?|postgres(?:ql)?|redis|rediss|mongodb(?:\+srv)?|amqp|mysql)://[^\s'"`<>]+""")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_WRAPPERS = {"sudo", "time", "nohup", "env", "exec", "command", "timeout", "xargs", "nice"}
_HOST_FLAGS = {"-h", "--host", "-H"}
_CURL_VALUE_FLAGS = {
    "-o",
    "--output",
    "-d",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-urlencode",
    "-H",
    "--header",
    "-X",
    "--request",
    "-u",
    "--user",
    "-w",
    "--write-out",
    "-m",
    "--max-time",
    "--connect-timeout",
    "-A",
    "--user-agent",
    "-e",
    "--referer",
    "-b",
    "--cookie",
    "-c",
    "--cookie-jar",
    "-T",
    "--upload-file",
    "-F",
    "--form",
    "-O",
    "--output-document",
    "--header-file",
    "--post-data",
    "-U",
}
_HOST_TOOLS = {"psql", "pg_isready", "pg_dump", "pg_restore", "redis-cli", "mongo", "mongosh", "mysql", "nc", "ping"}


@dataclass(frozen=True)
class Part:
    """One simple command of a line: its program and words."""

    text: str
    words: tuple[str, ...]

    @property
    def program(self) -> str:
        """The program this part runs (after variable assignments and wrappers such as ``sudo``)."""
        for index, word in enumerate(self.words):
            if _ASSIGNMENT.match(word):
                continue
            if word in _WRAPPERS:
                if word == "timeout" and index + 1 < len(self.words):
                    continue
                continue
            if word.replace(".", "").isdigit():  # timeout's duration
                continue
            return word.rsplit("/", 1)[-1]
        return ""

    @property
    def args(self) -> tuple[str, ...]:
        """The words after the program."""
        program = self.program
        for index, word in enumerate(self.words):
            if word.rsplit("/", 1)[-1] == program:
                return self.words[index + 1 :]
        return ()


def split_parts(text: str) -> list[Part]:
    """The simple commands of a line (quotes respected; heredoc bodies stay with their command)."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    heredoc = re.search(r"<<-?\s*'?\"?(\w+)'?\"?", text)
    if heredoc:  # a heredoc's body is data, not commands: keep the whole thing as one part
        return [_part(text)]
    while i < len(text):
        char = text[i]
        if quote:
            current.append(char)
            if char == "\\" and quote == '"' and i + 1 < len(text):
                current.append(text[i + 1])
                i += 2
                continue
            if char == quote:
                quote = None
            i += 1
            continue
        if char in ("'", '"'):
            quote = char
            current.append(char)
            i += 1
            continue
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        separator = next((s for s in _SEPARATORS if text.startswith(s, i)), None)
        if separator is not None:
            parts.append("".join(current))
            current = []
            i += len(separator)
            continue
        current.append(char)
        i += 1
    parts.append("".join(current))
    return [_part(p) for p in parts if p.strip() and not p.strip().startswith("#")]


def _part(text: str) -> Part:
    stripped = text.strip()
    try:
        words = shlex.split(stripped, comments=True)
    except ValueError:
        words = stripped.split()
    return Part(stripped, tuple(words))


def urls(text: str) -> list[str]:
    """Every URL in the text."""
    return [match.group(0).rstrip(").,;") for match in _URL.finditer(text)]


def hosts(part: Part) -> list[str]:
    """Every host this part would contact."""
    found = [urlsplit(url).hostname or "" for url in urls(part.text)]
    program, args = part.program, part.args
    if program in _HOST_TOOLS:
        for index, word in enumerate(args):
            if word in _HOST_FLAGS and index + 1 < len(args):
                found.append(args[index + 1])
            elif word.startswith("--host="):
                found.append(word.split("=", 1)[1])
            elif word.startswith("-h") and len(word) > 2 and program != "redis-cli":
                found.append(word[2:])
        if program in {"nc", "ping"}:
            positional = [w for w in args if not w.startswith("-")]
            found.extend(positional[:1])
    if program in {"ssh", "scp", "rsync", "sftp"}:
        for word in args:
            if "@" in word:
                found.append(word.split("@", 1)[1].split(":", 1)[0])
    if program in {"curl", "wget"}:
        skip = False
        for word in args:
            if skip:
                skip = False
                continue
            if word in _CURL_VALUE_FLAGS:
                skip = True
                continue
            if not word.startswith("-") and "://" not in word and re.match(r"^[\w.-]+(:\d+)?(/|$)", word):
                found.append(word.split("/", 1)[0].split(":", 1)[0])
    return [h for h in found if h]


LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost."""
    host = host.strip("[]").lower()
    return host in LOOPBACK_NAMES or host == "::1" or re.fullmatch(r"127(?:\.\d{1,3}){3}", host) is not None
