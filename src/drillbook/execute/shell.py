"""Reading shell command lines the way a shell would, enough to judge them before they run.

A line is split into simple commands ("parts") at ``|``, ``&&``, ``||``, ``;``, ``&``, newlines and
parentheses (outside quotes). Command substitutions (``$(…)``, backticks, ``<(…)``) and the commands a
part runs on someone else's behalf (``bash -c``, ``eval``, ``watch``, ``kubectl exec … --``, ``xargs``,
``sudo``, ``timeout``) become parts of their own, so every command that would run is judged. Heredoc
bodies are data, except when a shell reads them (what each part contacts: :mod:`drillbook.execute.contacts`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][\w-]*)\2")
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})
SHELLS = _SHELLS
INTERPRETERS = ("python", "node", "perl", "ruby", "php", "lua", "tclsh", "awk", "gawk")
"""Programs whose heredoc is code, judged as their inline code."""
_KEYWORDS = frozenset({"!", "{", "}", "if", "then", "else", "elif", "do", "while", "until", "time"})
_MAX_DEPTH = 6
SUBSTITUTED = "__drillbook_substituted__"
"""What a command substitution is replaced by in the part that uses its output."""

# Wrappers that run the rest of their words as a command, and how many values each option takes.
_WRAPPERS: dict[str, dict[str, int]] = {
    "sudo": {"-u": 1, "-g": 1, "-C": 1, "-D": 1, "-p": 1, "-r": 1, "-t": 1, "-U": 1, "-T": 1, "-h": 1},
    "env": {"-u": 1, "-C": 1, "-S": 1, "--unset": 1, "--chdir": 1},
    "timeout": {"-s": 1, "-k": 1, "--signal": 1, "--kill-after": 1},
    "nice": {"-n": 1},
    "ionice": {"-c": 1, "-n": 1, "-p": 1},
    "stdbuf": {"-i": 1, "-o": 1, "-e": 1},
    "xargs": {"-I": 1, "-i": 0, "-n": 1, "-P": 1, "-d": 1, "-L": 1, "-s": 1, "-E": 1, "-a": 1},
    "nohup": {},
    "time": {"-f": 1, "-o": 1},
    "command": {},
    "exec": {"-a": 1},
    "setsid": {},
    "builtin": {},
}
_POSITIONAL_WRAPPERS = frozenset({"timeout"})
"""Wrappers whose first positional word is a value (timeout's duration), not the command."""


@dataclass(frozen=True)
class Part:
    """One simple command of a line: its words, and the position of the program among them."""

    text: str
    words: tuple[str, ...]
    index: int = -1
    """Position of the program in ``words`` (after assignments, keywords and wrappers); -1 when there is none."""
    via: str = ""
    """Who runs this part on the line's behalf (``"kubectl exec"``, ``"bash -c"``, ``"$(…)"``); ``""`` for the line."""
    piped: bool = False
    """Its standard input is the output of the command before it (``… | this``)."""

    @property
    def program(self) -> str:
        """The program this part runs (after variable assignments and wrappers such as ``sudo``)."""
        return self.words[self.index].rsplit("/", 1)[-1] if self.index >= 0 else ""

    @property
    def args(self) -> tuple[str, ...]:
        """The words after the program."""
        return self.words[self.index + 1 :] if self.index >= 0 else ()

    @property
    def assignments(self) -> tuple[str, ...]:
        """``NAME=value`` words before the program (or all of them when there is none)."""
        end = self.index if self.index >= 0 else len(self.words)
        return tuple(w for w in self.words[:end] if _ASSIGNMENT.match(w))


def split_parts(text: str, via: str = "", _depth: int = 0) -> list[Part]:
    """Every simple command the line would run, nested ones included (quotes respected)."""
    if _depth > _MAX_DEPTH:
        return [Part(text, (text,), 0, via)]  # absurdly nested: judged as an unknown program
    line, bodies = _strip_heredocs(text)
    outer, substitutions = _extract_substitutions(line)
    parts: list[Part] = []
    for chunk, piped in _split_top(outer):
        part = _part(chunk, via, piped)
        if part.words:
            parts.append(part)
            parts.extend(_nested(part, _depth))
    for inner in substitutions:
        parts.extend(split_parts(inner, via or "$(…)", _depth + 1))
    for reader, body in bodies:
        if reader in _SHELLS:
            parts.extend(split_parts(body, "heredoc", _depth + 1))
        elif reader:  # code for an interpreter: judged as its inline code (``python3 -c BODY``)
            parts.append(Part(body, (reader, "-c", body), 0, "heredoc"))
        else:  # data, but any URL in it is still looked at
            parts.append(Part(body, (), -1, "heredoc"))
    return parts


def _strip_heredocs(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The command lines without heredoc bodies, and each body with who reads it as code: a shell or an
    interpreter (``bash``, ``python3``), or ``""`` for data."""
    lines = text.split("\n")
    kept: list[str] = []
    bodies: list[tuple[str, str]] = []
    index = 0
    while index < len(lines):
        current = lines[index]
        kept.append(current)
        index += 1
        outside = _unquoted(current)
        for match in _HEREDOC.finditer(current.replace("<<<", "   ")):
            if match.start() not in outside:  # "a << b" inside quotes is text, not a heredoc
                continue
            terminator, body = match.group(3), []
            while index < len(lines) and lines[index].strip() != terminator:
                body.append(lines[index])
                index += 1
            index += 1  # the terminator line
            names = [w.rsplit("/", 1)[-1] for w in re.findall(r"[\w./-]+", current[: match.start()])]
            reader = next((n for n in names if n in _SHELLS), "") or next(
                (n for n in names if n.startswith(INTERPRETERS)), ""
            )
            bodies.append((reader, "\n".join(body)))
    return "\n".join(kept), bodies


def _unquoted(line: str) -> set[int]:
    """Positions of the line outside single and double quotes."""
    positions: set[int] = set()
    quote: str | None = None
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        else:
            positions.add(index)
    return positions


def _extract_substitutions(text: str) -> tuple[str, list[str]]:
    """Replace ``$(…)``, ``<(…)``, ``>(…)`` and backticks (outside single quotes) by a marker; return their bodies."""
    out: list[str] = []
    found: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote == "'":
            out.append(char)
            quote = None if char == "'" else quote
            i += 1
            continue
        if char == "\\" and i + 1 < len(text):
            out.append(text[i : i + 2])
            i += 2
            continue
        if char in "'\"" and (quote is None or quote == char):
            quote = None if quote == char else char
            out.append(char)
            i += 1
            continue
        if char in "$<>" and text.startswith("(", i + 1):
            end = _closing(text, i + 2)
            found.append(text[i + 2 : end])
            out.append(SUBSTITUTED)
            i = end + 1
            continue
        if char == "`":
            end = text.find("`", i + 1)
            end = len(text) if end < 0 else end
            found.append(text[i + 1 : end])
            out.append(SUBSTITUTED)
            i = end + 1
            continue
        out.append(char)
        i += 1
    return "".join(out), found


def _closing(text: str, start: int) -> int:
    """Index of the ``)`` that closes a ``(`` opened just before ``start`` (or the end of the text)."""
    depth, quote, i = 1, None, start
    while i < len(text):
        char = text[i]
        if quote:
            quote = None if char == quote else quote
        elif char == "\\":
            i += 1
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def _split_top(text: str) -> list[tuple[str, bool]]:
    """Split at control operators outside quotes; comments are dropped. Each chunk says whether a pipe feeds it."""
    chunks: list[tuple[str, bool]] = []
    piped = False
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            current.append(char)
            if char == "\\" and quote == '"' and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif char == quote:
                quote = None
            i += 1
            continue
        if char in "'\"":
            quote = char
        elif char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        elif char == "#" and (not current or current[-1][-1:].isspace()):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif char in "|;\n()" or (char == "&" and _is_control_ampersand(text, i)):
            chunks.append(("".join(current), piped))
            current = []
            operator = text[i : i + 2] if text[i : i + 2] in ("&&", "||", "|&", ";;") else char
            piped = operator in ("|", "|&")
            i += len(operator)
            continue
        current.append(char)
        i += 1
    chunks.append(("".join(current), piped))
    return [(c.strip(), p) for c, p in chunks if c.strip()]


def _is_control_ampersand(text: str, i: int) -> bool:
    """``&`` ends a command unless it belongs to a redirection (``2>&1``, ``&>file``, ``>&2``)."""
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    return before not in "<>" and after != ">"


def _part(text: str, via: str, piped: bool = False) -> Part:
    words = _words(text)
    return Part(text, words, _program_index(words), via, piped)


def _words(text: str) -> tuple[str, ...]:
    """The words of a simple command, without redirections (``> out.txt``, ``2>&1``, ``< in.sql``)."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = text.split()
    words: list[str] = []
    skip = False
    for index, token in enumerate(tokens):
        if skip:
            skip = False
        elif token and set(token) <= set("<>&|"):
            skip = True  # the redirection's target
            if words and words[-1].isdigit() and index > 0 and tokens[index - 1] == words[-1]:
                words.pop()  # the file descriptor of "2>"
        else:
            words.append(token)
    return tuple(words)


def _program_index(words: tuple[str, ...]) -> int:
    index = 0
    while index < len(words):
        word = words[index]
        name = word.rsplit("/", 1)[-1]
        if _ASSIGNMENT.match(word) or word in _KEYWORDS:
            index += 1
            continue
        if name not in _WRAPPERS:
            return index
        index = _skip_options(words, index + 1, _WRAPPERS[name])
        if name in _POSITIONAL_WRAPPERS and index < len(words):
            index += 1  # the duration
    return -1


def _skip_options(words: tuple[str, ...], index: int, values: dict[str, int]) -> int:
    while index < len(words) and words[index].startswith("-") and words[index] != "--":
        index += 1 + values.get(words[index], 0)
    return index + 1 if index < len(words) and words[index] == "--" else index


def _nested(part: Part, depth: int) -> list[Part]:
    """The commands a part runs on the line's behalf: ``bash -c``, ``eval``, ``watch``, ``kubectl exec --``."""
    program, args = part.program, part.args
    inner: str | None = None
    if program in _SHELLS and "-c" in args and args.index("-c") + 1 < len(args):
        inner = args[args.index("-c") + 1]
    elif program == "eval":
        inner = " ".join(args)
    elif program == "watch":
        rest = _skip_options(args, 0, {"-n": 1, "--interval": 1, "-d": 0, "-q": 1, "--equexit": 1})
        inner = " ".join(args[rest:])
    elif program == "kubectl" and "--" in args and any(a in ("exec", "debug", "run") for a in args):
        inner = shlex.join(args[args.index("--") + 1 :])
    if not inner:
        return []
    label = "kubectl exec" if program == "kubectl" else f"{program} -c" if program in _SHELLS else program
    return split_parts(inner, part.via or label, depth + 1)
