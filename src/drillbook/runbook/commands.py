"""Code blocks to :class:`~drillbook.runbook.model.Command` values: text as written, tool, kubectl verb, effect.

Effect decisions (documented here because the executor's policy builds on them): curl/wget are read-only
for GET and mutating for other methods whatever the host, because the scenario's bindings decide what a
URL reaches; Slack/PagerDuty/status-page URLs and ``mail`` are notifications; cloud CLIs (aws, gcloud, az,
terraform, doctl, eksctl) and ssh/scp/rsync are external; deleting namespaces, volumes or "all", SQL
``DROP``/``TRUNCATE``, ``FLUSHALL``, ``rm -r`` and ``aws s3 rm`` are destructive; unknown tools are
mutating. A command with several parts (``|``, ``&&``, ``||``, ``;``) takes its worst part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from drillbook.runbook.model import Command, Effect


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_RANK = {
    Effect.READ_ONLY: 0,
    Effect.MANUAL: 1,
    Effect.MUTATING: 2,
    Effect.NON_TERMINATING: 3,
    Effect.NOTIFICATION: 4,
    Effect.EXTERNAL: 5,
    Effect.DESTRUCTIVE: 6,
}
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
_PROMPT = re.compile(r"^\s*(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s*[$#]|\$|PS>)\s")
_COMMAND_START = re.compile(r"^(?:[A-Za-z_]\w*=|[a-z./_~$\[({!][^\s:]*(?:\s|$))")
"""A shell line starts with a lower-case command word, a path, ``VAR=value`` or a test; prose starts Capitalised."""
_NOTIFY_WORDS = re.compile(r"^(slack|page|notify|email|e-mail|post|announce|message|tell|inform)\b", re.I)
_BRANCH = re.compile(r"^(?:#|--)\s*(option|alternative|approach)\s*([a-z0-9]{1,3})\b", re.IGNORECASE)
_HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_]\w*)['\"]?")
_PLACEHOLDERS = (
    re.compile(r"(?<![<\w])<[A-Za-z][\w.\- ]{0,40}>(?!>)"),
    re.compile(r"\$\{[A-Za-z_]\w*\}|\$[A-Za-z_]\w*"),
    re.compile(r"\b(?:YOUR|your)[_-][\w-]+"),
    re.compile(r"\[[A-Z][A-Z0-9_ -]{0,30}\]"),
    re.compile(r"(?<![$\w])\{[a-zA-Z][\w-]{0,40}\}"),
    re.compile(r"\b[\w-]*(?:xxx|XXX)[\w-]*"),
)
_SHELL_SPECIALS = frozenset({"$NF", "$NR", "$FS", "$OFS", "$RS", "$PWD", "$HOME", "$USER", "$RANDOM", "$PATH"})
_EXTERNAL_TOOLS = frozenset({"aws", "gcloud", "az", "terraform", "doctl", "eksctl", "ssh", "scp", "rsync", "gsutil"})
_READ_ONLY_TOOLS = _words(
    "if then else elif fi for do done while until case esac exit return wait local read shift grep egrep "
    "awk cat head wc sort uniq jq yq echo printf ls df du free ps date env printenv openssl dig nslookup "
    "host nc test which cut tr column less more stat id whoami uptime hostname base64 sleep true false "
    "export cd set source pg_dump mongodump pg_isready nproc lsof netstat ss vmstat iostat curl wget "
)
_NON_TERMINATING_TOOLS = frozenset({"watch", "htop", "top", "stern", "btop", "atop"})
_KUBECTL_READ = _words(
    "wait get describe logs top explain api-resources api-versions version cluster-info auth diff events "
)
_KUBECTL_VALUE_FLAGS = _words(
    "-n --namespace --context --kubeconfig -l --selector -c --container -o --output --field-selector "
)
_NOTIFY_HOSTS = re.compile(r"hooks\.slack\.com|slack\.com/api|pagerduty\.com|statuspage\.io|opsgenie|webhook", re.I)


def normalise_language(info: str) -> str:
    """The fence tag as a language name: ``console``/``sh``/``shell`` → ``bash``, ``postgresql`` → ``sql``."""
    word = info.strip().split(maxsplit=1)[0].casefold() if info.strip() else ""
    return _LANGUAGES.get(word, word)


def placeholders(text: str) -> tuple[str, ...]:
    """Unresolved placeholders in ``text``: ``<pod-name>``, ``$DATABASE_URL``, ``YOUR_KEY``, ``[PID]``, ``xxx``."""
    found: list[str] = []
    for pattern in _PLACEHOLDERS:
        for match in pattern.finditer(text):
            if match.group(0) in _SHELL_SPECIALS:
                continue
            if match.group(0) not in found:
                found.append(match.group(0))
    return tuple(found)


def commands_from_code(code: str, language: str, line: int) -> list[Command]:
    """The commands in one code block whose first line is ``line`` (``language`` already normalised)."""
    numbered = list(enumerate(code.splitlines(), start=line))
    if language == "sql":
        commands = [_command(text, at, lang) for at, text, lang in _sql_statements(numbered)]
    elif language in SHELL_LANGUAGES:
        commands = [_command(text, at, lang) for at, text, lang in _shell_lines(numbered)]
    else:
        return []
    branches = _branches(numbered)
    return [replace(c, branch=branches[c.line]) if c.line in branches else c for c in commands]


def _branches(lines: list[tuple[int, str]]) -> dict[int, str]:
    """Line → the ``# Option 2: …`` alternative it sits under, for blocks that offer alternatives."""
    found: dict[int, str] = {}
    current: str | None = None
    for at, text in lines:
        match = _BRANCH.match(text.strip())
        if match:
            current = f"{match.group(1).capitalize()} {match.group(2).upper()}"
        elif current is not None:
            found[at] = current
    return found


def prose_command(text: str, line: int) -> Command:
    """A prose-only action ("Restart Redis service") as a manual command."""
    clean = re.sub(r"[*_`]+", "", text).strip()
    return Command(clean, line, "prose", "", Effect.MANUAL, placeholders(clean))


def worst(effects: Iterable[Effect]) -> Effect:
    """The worst of several effects (read-only when there are none)."""
    return max(effects, key=_RANK.__getitem__, default=Effect.READ_ONLY)


def _sql_statements(lines: list[tuple[int, str]]) -> Iterable[tuple[int, str, str]]:
    parts: list[str] = []
    start = 0
    for at, raw in lines:
        text = raw.strip()
        if not text or text.startswith("--"):
            continue
        if not parts and re.match(r"^(psql|mysql|pgcli|sqlite3)\b", text):
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
    prompted = any(_PROMPT.match(text) for _, text in lines)
    index = 0
    while index < len(lines):
        at, raw = lines[index]
        index += 1
        text = raw.strip()
        if prompted:
            match = _PROMPT.match(raw)
            if match is None:
                continue  # output shown in a console session
            text = raw[match.end() :].strip()
        if not text or text.startswith("#") or text.startswith("--"):
            continue
        if _SQL_START.match(text):
            parts = [text]
            while not parts[-1].rstrip().endswith(";") and index < len(lines):
                nxt = lines[index][1].strip()
                if not nxt or nxt.startswith("#"):
                    break
                index += 1
                if not nxt.startswith("--"):
                    parts.append(nxt)
            yield at, " ".join(parts), "sql"
            continue
        while text.endswith("\\") and index < len(lines):
            text = text[:-1].rstrip() + " " + lines[index][1].strip()
            index += 1
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
        yield at, text, "bash" if _COMMAND_START.match(text) else "prose"


def _open_quote(text: str) -> bool:
    quote = ""
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1].isspace()):
            break  # a comment: quotes in it do not count
    return bool(quote)


def _command(text: str, line: int, language: str) -> Command:
    found = placeholders(text)
    if language == "prose":
        effect = Effect.NOTIFICATION if _NOTIFY_WORDS.match(text) else Effect.MANUAL
        tool = "slack" if text.casefold().startswith("slack") else ""
        return Command(text, line, "prose", tool, effect, found)
    if language == "sql":
        return Command(text, line, "sql", "sql", _sql_effect(text), found)
    parts = _split_parts(text.split("\n", 1)[0])
    tokens = _tokens(parts[0]) if parts else []
    tool = _tool_name(tokens)
    verb, resource = _kubectl_verb(tokens) if tool == "kubectl" else (None, None)
    effect = worst(_part_effect(_tokens(part), part) for part in parts) if parts else Effect.READ_ONLY
    if "\n" in text and _SQL_DANGER.search(text):
        effect = worst([effect, _sql_effect(text)])
    return Command(text, line, language, tool, effect, found, verb, resource)


def _split_parts(text: str) -> list[str]:
    """Split a shell line on ``|``, ``||``, ``&&`` and ``;`` outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"' and index + 1 < len(text):
                current.append(char)
                index += 1
                char = text[index]
        elif char in "'\"":
            quote = char
        elif char in "|;&":
            if char == "&" and text[index + 1 : index + 2] != "&":
                current.append(char)
                index += 1
                continue
            parts.append("".join(current).strip())
            current = []
            while index + 1 < len(text) and text[index + 1] in "|&":
                index += 1
            index += 1
            continue
        current.append(char)
        index += 1
    parts.append("".join(current).strip())
    return [part for part in parts if part]


_WORD = re.compile(r"""(?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+""")
_QUOTED = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)""")


def _shell_words(part: str) -> list[str]:
    """Shell-like words with quotes removed (shlex is correct too, but ten times slower on long runbooks)."""
    words = []
    for match in _WORD.finditer(part):
        word = match.group(0)
        if word.startswith("#"):
            break  # a comment runs to the end of the line
        words.append(_QUOTED.sub(lambda m: m.group(1) or m.group(2) or m.group(3) or "", word))
    return words


def _tokens(part: str) -> list[str]:
    tokens = _shell_words(part)
    while tokens and (re.match(r"^[A-Za-z_]\w*=", tokens[0]) or tokens[0] in ("sudo", "time", "nohup", "exec")):
        value = tokens[0].partition("=")[2]
        # VAR=$(cmd …) runs cmd: classify that.
        tokens = ([value[2:]] if value.startswith("$(") and len(value) > 2 else []) + tokens[1:]
    return tokens


def _tool_name(tokens: list[str]) -> str:
    if not tokens:
        return ""
    word = tokens[0].rsplit("/", 1)[-1]
    if word.endswith(":") and word[:-1].isalpha():
        return word[:-1].casefold()  # "Slack: @oncall …" written as a chat message
    return word


def _kubectl_verb(tokens: list[str]) -> tuple[str | None, str | None]:
    words: list[str] = []
    skip = False
    for token in tokens[1:]:
        if token == "--":
            break
        if skip:
            skip = False
            continue
        if token.startswith("-"):
            skip = token in _KUBECTL_VALUE_FLAGS
            continue
        words.append(token)
    if not words:
        return None, None
    verb = words[0]
    rest = words[2:] if verb in ("rollout", "set", "config", "auth", "create") and len(words) > 2 else words[1:]
    if verb in ("logs", "exec", "attach", "port-forward", "cp"):
        # These take a pod name, or type/name for another workload kind.
        return verb, rest[0].split("/", 1)[0].casefold() if rest and "/" in rest[0] else "pod"
    resource = rest[0].split("/", 1)[0].casefold() if rest else None
    return verb, resource


_SQL_DANGER = re.compile(r"\b(DROP|TRUNCATE|pg_terminate_backend|FLUSHALL|FLUSHDB|dropDatabase)\b", re.I)


def _sql_effect(text: str) -> Effect:
    upper = text.upper()
    if re.search(r"\b(DROP|TRUNCATE)\b", upper) or re.search(r"\bDELETE\s+FROM\b(?![^;]*\bWHERE\b)", upper):
        return Effect.DESTRUCTIVE
    if re.search(r"\b(INSERT|UPDATE|DELETE|ALTER|CREATE|VACUUM|REINDEX|GRANT|REVOKE|CLUSTER|REFRESH|COPY)\b", upper):
        return Effect.MUTATING
    if re.search(r"PG_TERMINATE_BACKEND|PG_CANCEL_BACKEND|PG_RELOAD_CONF|SET\s", upper):
        return Effect.MUTATING
    return Effect.READ_ONLY


def _part_effect(tokens: list[str], text: str) -> Effect:
    tool = _tool_name(tokens)
    args = tokens[1:]
    flags = set(args)
    if not tool:
        return Effect.READ_ONLY
    if tool == "kubectl":
        return _kubectl_effect(tokens)
    if tool == "timeout":
        inner = args[1:] if args and args[0][:1].isdigit() else args[2:]
        effect = _part_effect(inner, " ".join(inner))
        return Effect.READ_ONLY if effect is Effect.NON_TERMINATING else effect
    if tool in ("psql", "mysql"):
        if "-f" in flags or "--file" in flags or re.search(r"(?<![<])<(?![<])\s*\S", text):
            return Effect.MUTATING  # replays a file of statements: a restore
        query = " ".join(a for a in args if not a.startswith("-"))
        return _sql_effect(query)
    if tool == "redis-cli":
        return _redis_effect(args)
    if tool in ("curl", "wget", "http", "https"):
        if _NOTIFY_HOSTS.search(text):
            return Effect.NOTIFICATION
        method = _curl_method(args)
        return Effect.READ_ONLY if method in ("GET", "HEAD") else Effect.MUTATING
    if tool in ("slack", "mail", "sendmail", "mailx", "pagerduty", "pd", "statuspage"):
        return Effect.NOTIFICATION
    if tool in _EXTERNAL_TOOLS:
        if tool == "aws" and re.search(r"\b(s3 rm|s3 rb|delete-\w+|terminate-instances)\b", text):
            return Effect.DESTRUCTIVE
        if tool == "terraform" and "destroy" in flags:
            return Effect.DESTRUCTIVE
        return Effect.EXTERNAL
    if tool in _NON_TERMINATING_TOOLS:
        return Effect.READ_ONLY if tool == "top" and "-b" in flags else Effect.NON_TERMINATING
    if tool in ("iostat", "vmstat", "mpstat", "pidstat", "sar"):
        numbers = [a for a in args if a.isdigit()]
        return Effect.NON_TERMINATING if len(numbers) == 1 else Effect.READ_ONLY  # an interval with no count
    if tool == "journalctl":
        return Effect.NON_TERMINATING if flags & {"-f", "--follow"} else Effect.READ_ONLY
    if tool == "tail":
        return Effect.NON_TERMINATING if flags & {"-f", "-F", "--follow"} else Effect.READ_ONLY
    if tool == "ping":
        return Effect.READ_ONLY if any(a.startswith("-c") for a in args) else Effect.NON_TERMINATING
    if tool == "rm":
        return Effect.DESTRUCTIVE if any(re.match(r"^-\w*[rR]", a) for a in args) else Effect.MUTATING
    if tool in ("mongo", "mongosh"):
        return _mongo_effect(text)
    if tool in ("helm", "docker"):
        return _package_effect(tool, args)
    if tool in ("open", "xdg-open"):
        return Effect.MANUAL
    if tool == "sed":
        return Effect.MUTATING if any(a.startswith("-i") for a in args) else Effect.READ_ONLY
    if tool == "find":
        return Effect.DESTRUCTIVE if "-delete" in flags else Effect.READ_ONLY
    if tool == "git":
        sub = next((a for a in args if not a.startswith("-")), "")
        if sub in ("push", "pull", "clone", "fetch"):
            return Effect.EXTERNAL
        return (
            Effect.READ_ONLY if sub in ("log", "diff", "status", "show", "blame", "branch", "tag") else Effect.MUTATING
        )
    if tool in ("systemctl", "service"):
        return Effect.READ_ONLY if "status" in flags else Effect.MUTATING
    if tool in _READ_ONLY_TOOLS:
        return Effect.READ_ONLY
    return Effect.MUTATING


def _kubectl_effect(tokens: list[str]) -> Effect:
    verb, resource = _kubectl_verb(tokens)
    flags = set(tokens[: tokens.index("--")] if "--" in tokens else tokens)
    if verb is None or any(t.startswith("--dry-run") and t != "--dry-run=none" for t in flags):
        return Effect.READ_ONLY
    if verb in ("port-forward", "proxy", "attach"):
        return Effect.NON_TERMINATING
    following = verb == "logs" and flags & {"-f", "--follow"}
    if following or (verb in ("get", "top", "rollout") and flags & {"-w", "--watch"}):
        return Effect.NON_TERMINATING
    if verb in _KUBECTL_READ:
        return Effect.READ_ONLY
    if verb == "rollout" and len(tokens) > 2 and any(t in ("status", "history") for t in tokens):
        return Effect.READ_ONLY
    if verb == "exec":
        inner = tokens[tokens.index("--") + 1 :] if "--" in tokens else []
        if not inner or (inner[0].rsplit("/", 1)[-1] in ("bash", "sh", "ash", "zsh") and len(inner) == 1):
            return Effect.NON_TERMINATING  # an interactive shell only ends when someone types exit
        return _part_effect(inner, " ".join(inner))
    if verb == "delete":
        if resource in ("namespace", "namespaces", "ns", "pvc", "persistentvolumeclaim", "pv", "all", "crd"):
            return Effect.DESTRUCTIVE
        if "--all" in flags or "--all-namespaces" in flags or "-A" in flags:
            return Effect.DESTRUCTIVE
    return Effect.MUTATING


def _redis_effect(args: list[str]) -> Effect:
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-h", "-p", "-a", "-n", "-u", "--user", "--pass", "-s", "-r", "-i"):
            skip = True
        elif arg in ("--stat", "--latency", "--latency-history", "--monitor"):
            return Effect.NON_TERMINATING
        elif not arg.startswith("-"):
            words.append(arg.upper())
    command = words[0] if words else ""
    if command in ("FLUSHALL", "FLUSHDB", "SHUTDOWN"):
        return Effect.DESTRUCTIVE
    if command in ("MONITOR", "SUBSCRIBE", "PSUBSCRIBE"):
        return Effect.NON_TERMINATING
    if command in ("DEL", "UNLINK", "SET", "EXPIRE", "HSET", "LPUSH", "RPUSH", "SADD", "ZADD", "INCR", "DECR"):
        return Effect.MUTATING
    if (command == "CONFIG" and len(words) > 1 and words[1] != "GET") or (command == "CLIENT" and "KILL" in words):
        return Effect.MUTATING
    return Effect.READ_ONLY


def _curl_method(args: list[str]) -> str:
    for index, arg in enumerate(args):
        if arg in ("-X", "--request") and index + 1 < len(args):
            return args[index + 1].upper()
        if arg.startswith("-X") and len(arg) > 2:
            return arg[2:].upper()
        if arg in ("-d", "--data", "--data-raw", "--data-binary", "-F", "--form", "--json"):
            return "POST"
        if arg in ("-I", "--head"):
            return "HEAD"
    return "GET"


def _mongo_effect(text: str) -> Effect:
    if re.search(r"dropDatabase|\.drop\(|deleteMany\(\s*\{\s*\}|\.remove\(\s*\{\s*\}", text):
        return Effect.DESTRUCTIVE
    if re.search(r"\b(insert\w*|update\w*|delete\w*|remove|createIndex|stepDown|rs\.reconfig)\b", text):
        return Effect.MUTATING
    return Effect.READ_ONLY


def _package_effect(tool: str, args: list[str]) -> Effect:
    sub = next((a for a in args if not a.startswith("-")), "")
    if tool == "helm":
        if sub in ("list", "ls", "status", "history", "get", "search", "show", "template", "lint", "version"):
            return Effect.READ_ONLY
        return Effect.DESTRUCTIVE if sub in ("uninstall", "delete") else Effect.MUTATING
    if sub in ("logs", "stats", "events") and ({"-f", "--follow"} & set(args) or sub == "stats"):
        return Effect.READ_ONLY if "--no-stream" in args else Effect.NON_TERMINATING
    if sub in ("ps", "logs", "inspect", "images", "version", "info", "top", "events"):
        return Effect.READ_ONLY
    if sub in ("rm", "rmi", "prune") or "prune" in args or (sub == "volume" and "rm" in args):
        return Effect.DESTRUCTIVE
    return Effect.MUTATING
