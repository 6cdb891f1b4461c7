"""Code blocks to :class:`~drillbook.runbook.model.Command` values: text as written, tool, kubectl verb, effect.

This module finds the commands (continuations, prompts, console output, heredocs, multi-line quotes, SQL
statements, placeholders); :mod:`drillbook.runbook.branches` labels the alternatives a block offers and
:mod:`drillbook.runbook.effects` decides what each command does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from drillbook.runbook.branches import block_branches
from drillbook.runbook.effects import (
    KNOWN_TOOLS,
    SQL_DANGER,
    kubectl_effect,
    kubectl_verb,
    part_effect,
    shell_tokens,
    split_parts,
    sql_effect,
    tool_name,
    worst,
)
from drillbook.runbook.model import Command, Effect
from drillbook.runbook.sessions import REMOTE_SHELL, REPL_KINDS, SessionStack

_LANGUAGES = {
    "": "",
    "bash": "bash",
    "sh": "bash",
    "shell": "bash",
    "console": "bash",
    "zsh": "bash",
    "cmd": "bash",
    "terminal": "bash",
    "shell-session": "bash",
    "shellsession": "bash",
    "sql": "sql",
    "postgresql": "sql",
    "postgres": "sql",
    "psql": "sql",
    "pgsql": "sql",
    "plpgsql": "sql",
    "mysql": "sql",
    "yml": "yaml",
}
SHELL_LANGUAGES = frozenset({"", "bash"})
"""Normalised languages whose lines are run as commands; ``sql`` is split into statements."""

_SQL_START = re.compile(
    r"^(SELECT|INSERT|UPDATE|DELETE|ALTER|CREATE|DROP|VACUUM|ANALYZE|EXPLAIN|WITH|SHOW|GRANT|REVOKE|REINDEX|"
    r"TRUNCATE|BEGIN|COMMIT|ROLLBACK|CLUSTER|REFRESH|COPY)\b"
)
_PROMPT = re.compile(
    r"^\s*(?:"
    r"(?:\([\w.-]+\)\s*)?[\w.!-]+(?: [\w.!-]+)*@[\w.-]+(?::[^\s$#]*)?\s*[$#%>]"  # user@host:~$, I have no name!@pod:/$
    r"|\[[^\]\n]{1,60}\]\s*[$#]"  # [root@host ~]#
    r"|(?:sh|bash|zsh|ash)-\d[\d.]*[$#]"  # sh-4.4#
    r"|➜\s+\S+(?:\s+git:\([^)]*\))?(?:\s+✗)?"  # ➜  ~
    r"|[\w-]+[=(][#>]"  # orders=#  db=>
    r"|(?:[\w-]+\s)?(?:psql|mysql|mongo|mongosh|sqlite|cqlsh|redis|mariadb|postgres)[\w-]*>"  # psql> mysql>
    r"|(?:redis\s)?[\w.-]+:\d{2,5}(?:\[\d+\])?>"  # 127.0.0.1:6379>
    r"|[\w-]+(?:\s\[[\w.-]+\])?\s?[\w-]*>"  # rs0 [primary] catalogue>  test>
    r"|[/~][\w/.-]*\s*[#$]"  # / #  ~ $
    r"|\$|%|PS[^>\n]{0,40}>"
    r")\s"
)


def _prompt(line: str) -> re.Match[str] | None:
    """``_PROMPT`` at the start of ``line``; every prompt ends in ``$ # % >`` or starts with ``➜``, so a line with
    none of them (most command lines) is passed without running the pattern's many alternatives."""
    if "$" in line or "#" in line or ">" in line or "%" in line or "➜" in line:
        return None if line.lstrip()[:1] == "#" else _PROMPT.match(line)  # no prompt starts with "#": a comment
    return None


_CONTINUATION_PROMPT = re.compile(r"^\s*(?:[\w-]+[-(\'\"][#>]|->|\.\.\.|>)\s")
_OUTPUT_LINE = re.compile(
    r"^(?:[\w.-]+/[\w.@:-]+\s+(?:restarted|patched|created|configured|deleted|scaled|rolled back|unchanged|labeled|"
    r"annotated|cordoned|uncordoned|drained|evicted|edited|paused|resumed|image updated|env updated|"
    r"resource requirements updated|condition met|tainted|untainted)\b|\(integer\)|\(nil\)|\(error\)|"
    r"\(\d+ rows?\)|OK$|PONG$|QUEUED$|[{}\[\]|+]|-{3,}|={3,}|error:|Error from server|Warning:|NAME\s|"
    r"[A-Z][A-Z0-9_-]+(?:\s{2,}[A-Z][A-Z0-9_() -]*)+$)"
)
_COMPOUND = {"for": "done", "while": "done", "until": "done", "if": "fi", "case": "esac"}
_CLOSERS = {closer: re.compile(rf"(?:^|[;&|\s]){closer}\b") for closer in set(_COMPOUND.values())}
_COMMAND_START = re.compile(r"^(?:[A-Za-z_]\w*=|[a-z./_~$\[({!][^\s:]*(?:\s|$))")
"""A shell line starts with a lower-case command word, a path, ``VAR=value`` or a test; prose starts Capitalised."""
_NOTIFY_WORDS = re.compile(r"^(slack|page|notify|email|e-mail|post|announce|message|tell|inform)\b", re.I)
_ASSIGNED = re.compile(r"(?:^|[;&|]\s*|\bexport\s+)([A-Za-z_]\w*)=", re.MULTILINE)
_OPEN_QUOTE = re.compile(r"""(?:[^\\'"#]+|\\.|'[^']*'|"(?:[^"\\]|\\.)*"|(?<=\S)#)*+['"]""", re.DOTALL)
"""Escapes, closed quotes and a ``#`` inside a word, taken whole and never given back (``*+``), then a quote that
nothing closed: the line leaves a string open. A comment's ``#`` (at the start or after a space) stops the scan."""
_LEADING_ASSIGNMENT = re.compile(r"([A-Za-z_]\w*)=")
_LOOP_VARIABLE = re.compile(r"\b(?:for|read(?:\s+-\w+)*)\s+([A-Za-z_]\w*)")
_HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_]\w*)['\"]?")
_PLACEHOLDERS = (  # each with a substring it cannot match without, to skip the scan cheaply
    ("<", re.compile(r"(?<![<\w])<[A-Za-z][\w.\- ]{0,40}>(?!>)")),
    ("$", re.compile(r"\$\{[A-Za-z_]\w*\}|\$[A-Za-z_]\w*")),
    ("our", re.compile(r"\b(?:YOUR|your)[_-][\w-]+")),
    ("[", re.compile(r"\[[A-Z][A-Z0-9_ -]{0,30}\]")),
    ("{", re.compile(r"(?<![$\w])\{[a-zA-Z][\w-]{0,40}\}")),
    ("xx", re.compile(r"\b[\w-]*(?:xxx|XXX)[\w-]*")),
)
_SHELL_SPECIALS = frozenset({"$NF", "$NR", "$FS", "$OFS", "$RS", "$PWD", "$HOME", "$USER", "$RANDOM", "$PATH"})


_ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S")
_CHAT_LINE = re.compile(r"^(?:slack|page|pagerduty|notify|email)\b\s*:", re.IGNORECASE)
_COMMENTED_WORD = re.compile(r"^#\s+(\S+)")
_EMPHASIS = re.compile(r"\*+|`+|(?<!\w)_+|_+(?!\w)")
_SQL_CLIENT = re.compile(r"^(psql|mysql|pgcli|sqlite3)\b")


def normalise_language(info: str) -> str:
    """The fence tag as a language name: ``console``/``sh``/``shell`` → ``bash``, ``postgresql`` → ``sql``."""
    word = info.strip().split(maxsplit=1)[0].casefold() if info.strip() else ""
    return _LANGUAGES.get(word, word)


def reads_as_command(code: str) -> bool:
    """Whether an inline code span is a command (``kubectl -n x logs pod``), not a name (``DB_POOL_MAX``, ``/health``).

    It must start with a tool drillbook knows (or ``./script``, ``sudo``) and give it something to do: a bare tool
    name, a flag or a file name alone is not a command.
    """
    text = _PROMPT.sub("", code.strip(), count=1).strip()
    words = text.split()
    if len(words) < 2:
        return False
    first = words[1] if words[0] == "sudo" and len(words) > 2 else words[0]
    if first.startswith("./") or first.endswith(".sh"):
        return True
    if _SQL_START.match(text) and (len(words) >= 3 or text.endswith((";", ")"))):
        return True
    return first in KNOWN_TOOLS


def placeholders(text: str) -> tuple[str, ...]:
    """Unresolved placeholders in ``text``: ``<pod-name>``, ``$DATABASE_URL``, ``YOUR_KEY``, ``[PID]``, ``xxx``."""
    found: list[str] = []
    for needle, pattern in _PLACEHOLDERS:
        if needle not in text and (needle != "our" or "OUR" not in text) and (needle != "xx" or "XX" not in text):
            continue
        for name in pattern.findall(text):
            if name not in _SHELL_SPECIALS and name not in found:
                found.append(name)
    return tuple(found)


_NOT_SHELL_LINE = re.compile(r"^\s*(?:[-*]\s*)?\[[ xX]\]|^\s*[├└│┌┐┘┤┬┴┼─╰╭]|^\s*\|")
"""Checklist items (``[ ] Status page updated``), ASCII decision trees (``├─ Error rate > 5%?``) and tables."""
_NOT_A_COMMAND = re.compile(f"{_OUTPUT_LINE.pattern}|{_NOT_SHELL_LINE.pattern}")
"""Console output or a line that is no shell at all: one scan instead of two for each line of a block."""


def has_commands(code: str, language: str) -> bool:
    """Whether a code block holds commands at all (shell or SQL), without reading them one by one."""
    if language == "sql":
        return True
    if language not in SHELL_LANGUAGES:
        return False
    return language == "bash" or _looks_like_shell(code)


def _looks_like_shell(code: str) -> bool:
    """An untagged block is shell when a line starts with a prompt, a tool drillbook knows, a path or ``VAR=``.

    YAML and JSON config, PromQL, log excerpts, message templates, checklists and ASCII trees are not.
    """
    for raw in code.splitlines():
        text = raw.strip()
        if not text or (text.startswith("#") and not text.startswith("# ")):
            continue
        if _prompt(raw) and not _NOT_SHELL_LINE.match(raw):
            return True
        first = text.split(maxsplit=1)[0]
        if first in KNOWN_TOOLS or first.startswith(("./", "/usr/", "/opt/", "~/")) or first.endswith(".sh"):
            return True
        if _SQL_START.match(text) or _ENV_ASSIGNMENT.match(text):
            return True
        if _CHAT_LINE.match(text):
            return True  # "Slack: @oncall …": a notification written as a chat line
        if _COMMENTED_WORD.match(text) and text[2:].split(maxsplit=1)[0] in KNOWN_TOOLS:
            return True
    return False


def commands_from_code(code: str, language: str, line: int) -> list[Command]:
    """The commands in one code block whose first line is ``line`` (``language`` already normalised)."""
    if language == "" and not _looks_like_shell(code):
        return []  # an untagged block of YAML, PromQL, output, a template, a checklist or a diagram
    numbered = list(enumerate(code.splitlines(), start=line))
    if language == "sql":
        commands = [_command(text, at, lang) for at, text, lang in _sql_statements(numbered)]
    elif language in SHELL_LANGUAGES:
        commands = [_command(text, at, lang) for at, text, lang in _shell_lines(numbered)]
    else:
        return []
    branches = block_branches(numbered, commands)
    commands = [replace(c, branch=branches[c.line]) if c.line in branches else c for c in commands]
    return _drop_script_variables(commands)


def _drop_script_variables(commands: list[Command]) -> list[Command]:
    """``$BACKUP_FILE`` is no placeholder once the script itself set it (``BACKUP_FILE=…``, ``for pod in …``)."""
    assigned: set[str] = set()
    kept: list[Command] = []
    for command in commands:
        if "\n" in command.text:  # a loop or if-block sets its own variables before using them
            assigned.update(_LOOP_VARIABLE.findall(command.text))
            assigned.update(_ASSIGNED.findall(command.text))
        if command.placeholders:
            own = [p for p in command.placeholders if p.lstrip("${").rstrip("}") not in assigned]
            kept.append(replace(command, placeholders=tuple(own)) if len(own) != len(command.placeholders) else command)
        else:
            kept.append(command)
        if "=" in command.text:
            assigned.update(_assigned(command.text))
        if "for" in command.text or "read" in command.text:
            assigned.update(_LOOP_VARIABLE.findall(command.text))
    return kept


def _assigned(text: str) -> list[str]:
    """The variables a command line sets (``_ASSIGNED``; a one-line command without ``;&|`` or ``export`` can only
    set one at its very start, so most lines need no scan of their whole text)."""
    if "\n" in text or ";" in text or "&" in text or "|" in text or "export" in text:
        return _ASSIGNED.findall(text)
    match = _LEADING_ASSIGNMENT.match(text)
    return [match.group(1)] if match else []


def prose_command(text: str, line: int, branch: str | None = None) -> Command:
    """A prose-only action ("Restart Redis service") as a manual command."""
    marked = "*" in text or "`" in text or "_" in text
    clean = (_EMPHASIS.sub("", text) if marked else text).strip()  # emphasis, not the _ inside DB_POOL_MAX
    return Command(clean, line, "prose", "", Effect.MANUAL, placeholders(clean), branch=branch)


def _sql_statements(lines: list[tuple[int, str]]) -> Iterable[tuple[int, str, str]]:
    parts: list[str] = []
    start = 0
    for at, raw in lines:
        text = raw.strip()
        if not text or text.startswith("--"):
            continue
        if not parts and _SQL_CLIENT.match(text):
            yield at, text, "bash"  # the client invocation written above the statements
            continue
        if not parts and text.startswith("\\"):
            yield at, text, "sql"  # psql meta-command: ends at the line end
            continue
        if not parts:
            start = at
        parts.append(text)
        if text.endswith(";"):
            yield start, " ".join(parts), "sql"
            parts = []
    if parts:
        yield start, " ".join(parts), "sql"


def _shell_lines(lines: list[tuple[int, str]]) -> Iterable[tuple[int, str, str]]:
    """Commands of a shell block, with the language each runs in: ``bash``, ``remote-shell``, ``sql``, ``redis``,
    ``mongo``, ``prose``.

    Prompts are stripped; in a block with prompts, lines without one are output. Output lines (``deployment.apps/x
    restarted``, tables, JSON) are never commands. After an interactive opener (``psql …``, ``redis-cli``,
    ``mongosh``, ``kubectl exec -it … -- bash``, ``oc debug node/…``, ``ssh host``) the lines typed next run inside
    that session until ``exit``/``\\q`` (:mod:`drillbook.runbook.sessions`).
    """
    prompted = any(_prompt(text) for _, text in lines)
    root = _root_prompted(lines) if not prompted else False
    prompted = prompted or root
    sessions = SessionStack()
    seen_prompt = False
    index = 0
    while index < len(lines):
        at, raw = lines[index]
        index += 1
        text = raw.strip()
        prompt = ""  # the prompt this line was typed at
        if prompted:
            match = _ROOT_PROMPT.match(raw) if root else _prompt(raw)
            if match is None:
                words = text.split()
                if seen_prompt or not words or words[0] not in KNOWN_TOOLS:
                    continue  # output shown in a console session
                # the command written without a prompt above the session it opens
            else:
                seen_prompt = True
                text = raw[match.end() :].strip()
                prompt = match.group(0).strip()
                sessions.at_prompt(prompt)
        if not text or text.startswith("#") or text.startswith("--") or text.startswith("//"):
            continue
        if sessions.end(text):
            continue
        if not prompted and _NOT_A_COMMAND.match(text):
            continue
        sql = _SQL_START.match(text) is not None
        if sessions.language != "bash":
            sessions.leave(text, sql)  # the next shell command: the writer left the session without showing its exit
        session = sessions.language
        if session in REPL_KINDS or sql:
            language = session if session in REPL_KINDS else "sql"
            if language == "sql" and text.startswith("\\"):
                yield at, text, "sql"  # psql meta-command
                continue
            parts = [text]
            while language in ("sql", "mongo") and not _statement_done(parts, language) and index < len(lines):
                nxt_raw = lines[index][1]
                nxt = nxt_raw.strip()
                if prompted:
                    cont = _CONTINUATION_PROMPT.match(nxt_raw)
                    if cont is None:
                        break
                    nxt = nxt_raw[cont.end() :].strip()
                if not nxt or nxt.startswith("#"):
                    break
                index += 1
                if not nxt.startswith("--"):
                    parts.append(nxt)
            yield at, " ".join(parts), language
            continue
        while text.endswith("\\") and index < len(lines):
            nxt = lines[index][1].strip()
            if prompted and (cont := _CONTINUATION_PROMPT.match(lines[index][1])) is not None:
                nxt = lines[index][1][cont.end() :].strip()
            text = text[:-1].rstrip() + " " + nxt
            index += 1
        first = text.split(maxsplit=1)[0] if text.split() else ""
        closer = _COMPOUND.get(first)
        if closer is not None and not _CLOSERS[closer].search(text):
            body = [text]
            while index < len(lines) and len(body) < 200:
                body.append(lines[index][1].strip())
                index += 1
                if _CLOSERS[closer].search(body[-1]):
                    break
            text = "\n".join(body)
        joined = 0
        while _open_quote(text) and index < len(lines) and joined < 100:
            text = text + "\n" + lines[index][1]  # a quoted argument (JSON body) spans lines
            index += 1
            joined += 1
        heredoc = _HEREDOC.search(text)
        if heredoc is not None:
            body = [text]
            while index < len(lines):
                body.append(lines[index][1])
                index += 1
                if lines[index - 1][1].strip() == heredoc.group(1):
                    break
            text = "\n".join(body)
        shell = REMOTE_SHELL if session == REMOTE_SHELL else "bash"
        yield at, text, shell if _COMMAND_START.match(text) else "prose"
        sessions.opened(text, prompt)


_ROOT_PROMPT = re.compile(r"^\s*#\s(?=\s*\S)")


def _root_prompted(lines: list[tuple[int, str]]) -> bool:
    """A console shown with root's ``# `` prompt: most ``# `` lines start with a tool, not with words."""
    heads = tools = 0
    for _, text in lines:
        stripped = text.strip()
        if stripped.startswith("# "):
            heads += 1
            words = stripped[1:].split(maxsplit=1)
            tools += bool(words) and words[0] in KNOWN_TOOLS
    return tools >= 2 and tools * 2 > heads


def _statement_done(parts: list[str], language: str) -> bool:
    last = parts[-1].rstrip()
    if language == "mongo":
        whole = " ".join(parts)
        return whole.count("(") <= whole.count(")") and whole.count("{") <= whole.count("}")
    return last.endswith(";") or last.endswith("\\G") or last.endswith("\\gx")


def _open_quote(text: str) -> bool:
    """Whether ``text`` ends inside a quoted string (a comment's quotes do not count)."""
    if "'" not in text and '"' not in text:
        return False
    return _OPEN_QUOTE.match(text) is not None


def _command(text: str, line: int, language: str) -> Command:
    found = placeholders(text)
    if language == "prose":
        effect = Effect.NOTIFICATION if _NOTIFY_WORDS.match(text) else Effect.MANUAL
        tool = "slack" if text.casefold().startswith("slack") else ""
        return Command(text, line, "prose", tool, effect, found)
    if language == "sql":
        return Command(text, line, "sql", "sql", sql_effect(text), found)
    if language == "redis":
        return Command(text, line, "redis", "redis-cli", part_effect(["redis-cli", *text.split()], text), found)
    if language == "mongo":
        return Command(text, line, "mongo", "mongosh", part_effect(["mongosh"], text), found)
    first_line = text.split("\n", 1)[0]
    compound = "\n" in text and (first_line.split() or [""])[0] in _COMPOUND
    # A loop or if-block does what its body does; other multi-line commands are one line plus a quoted body.
    lines = text.splitlines() if compound else [first_line]
    parts = [part for each in lines for part in split_parts(each)]
    tokenised = [(shell_tokens(part), part) for part in parts]
    tokens = tokenised[0][0] if tokenised else []
    tool = tool_name(tokens)
    verb, resource = kubectl_verb(tokens) if tool == "kubectl" else (None, None)
    if len(tokenised) == 1:
        effect = kubectl_effect(tokens, (verb, resource)) if tool == "kubectl" else part_effect(*tokenised[0])
    else:
        effect = worst(part_effect(words, part) for words, part in tokenised)
    if "\n" in text and SQL_DANGER.search(text):
        effect = worst([effect, sql_effect(text)])
    return Command(text, line, language, tool, effect, found, verb, resource)
