"""What running a shell or SQL command does: read-only, mutating, destructive, external, notification, never-ending.

Decisions (the executor's policy builds on them): curl/wget are read-only for GET and mutating for other methods
whatever the host, because the scenario's bindings decide what a URL reaches; Slack/PagerDuty/status-page URLs and
``mail`` are notifications; cloud CLIs (aws, gcloud, az, terraform, doctl, eksctl), ssh/scp/rsync and ``git push``
are external; deleting namespaces, volumes or "all", SQL ``DROP``/``TRUNCATE``/``DELETE`` without ``WHERE``,
``FLUSHALL``, ``rm -r`` and ``aws s3 rm`` are destructive; ``-w``/``-f``/``watch``/``top`` never end (``timeout N``
bounds them); ``--dry-run`` is read-only; unknown tools are mutating. A command with several parts (``|``, ``&&``,
``||``, ``;``) takes its worst part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from drillbook.runbook.model import Effect


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


def worst(effects: Iterable[Effect]) -> Effect:
    """The worst of several effects (read-only when there are none)."""
    return max(effects, key=_RANK.__getitem__, default=Effect.READ_ONLY)


def split_parts(text: str) -> list[str]:
    """Split a shell line on ``|``, ``||``, ``&&`` and ``;`` outside quotes."""
    if not any(char in text for char in "|&;"):
        return [text.strip()] if text.strip() else []
    return [part.strip() for part in _PART.findall(text) if part.strip()]


_PART = re.compile(r"""(?:[^|&;'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*"|(?<!&)&(?!&)|['"])+""")
_WORD = re.compile(r"""(?:[^\s'"\\]|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+""")
_QUOTED = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)""")
_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=")


def _shell_words(part: str) -> list[str]:
    """Shell-like words with quotes removed (shlex is correct too, but ten times slower on long runbooks)."""
    if "'" not in part and '"' not in part and "\\" not in part:
        words = part.split()  # nothing quoted: whitespace alone separates words
        comment = next((index for index, word in enumerate(words) if word[0] == "#"), None)
        return words if comment is None else words[:comment]
    words = []
    for word in _WORD.findall(part):
        if word[0] == "#":
            break  # a comment runs to the end of the line
        words.append(_QUOTED.sub(_unquote, word))
    return words


def _unquote(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2) or match.group(3) or ""


def shell_tokens(part: str) -> list[str]:
    """Words of one command part, without leading ``VAR=value``, ``sudo``, ``time``, ``nohup`` or ``exec``."""
    tokens = _shell_words(part)
    while tokens and (_ASSIGNMENT.match(tokens[0]) or tokens[0] in ("sudo", "time", "nohup", "exec")):
        value = tokens[0].partition("=")[2]
        # VAR=$(cmd …) runs cmd: classify that.
        tokens = ([value[2:]] if value.startswith("$(") and len(value) > 2 else []) + tokens[1:]
    return tokens


def tool_name(tokens: list[str]) -> str:
    """The tool a command runs (``kubectl``; ``slack`` for a "Slack: …" chat line; ``""`` for none)."""
    if not tokens:
        return ""
    word = tokens[0].rsplit("/", 1)[-1]
    if word.endswith(":") and word[:-1].isalpha():
        return word[:-1].casefold()  # "Slack: @oncall …" written as a chat message
    return word


def kubectl_verb(tokens: list[str]) -> tuple[str | None, str | None]:
    """``(verb, resource)`` of a kubectl command: ``("rollout", "deployment")``, ``("logs", "pod")``."""
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
    rest = words[2:] if verb in ("rollout", "set", "config", "auth") and len(words) > 2 else words[1:]
    if verb in ("logs", "exec", "attach", "port-forward", "cp"):
        # These take a pod name, or type/name for another workload kind.
        return verb, rest[0].split("/", 1)[0].casefold() if rest and "/" in rest[0] else "pod"
    resource = rest[0].split("/", 1)[0].casefold() if rest else None
    return verb, resource


SQL_DANGER = re.compile(r"\b(DROP|TRUNCATE|pg_terminate_backend|FLUSHALL|FLUSHDB|dropDatabase)\b", re.I)


def sql_effect(text: str) -> Effect:
    """The effect of SQL text: reads, writes (``pg_terminate_backend`` included) or destroys."""
    upper = text.upper()
    if re.search(r"\b(DROP|TRUNCATE)\b", upper) or re.search(r"\bDELETE\s+FROM\b(?![^;]*\bWHERE\b)", upper):
        return Effect.DESTRUCTIVE
    if re.search(r"\b(INSERT|UPDATE|DELETE|ALTER|CREATE|VACUUM|REINDEX|GRANT|REVOKE|CLUSTER|REFRESH|COPY)\b", upper):
        return Effect.MUTATING
    if re.search(r"PG_TERMINATE_BACKEND|PG_CANCEL_BACKEND|PG_RELOAD_CONF|SET\s", upper):
        return Effect.MUTATING
    return Effect.READ_ONLY


def part_effect(tokens: list[str], text: str) -> Effect:
    """The effect of one part of a shell line (no ``|``, ``&&`` or ``;`` inside)."""
    tool = tool_name(tokens)
    args = tokens[1:]
    flags = set(args)
    if not tool:
        return Effect.READ_ONLY
    if tool == "kubectl":
        return _kubectl_effect(tokens)
    if tool == "timeout":
        inner = args[1:] if args and args[0][:1].isdigit() else args[2:]
        effect = part_effect(inner, " ".join(inner))
        return Effect.READ_ONLY if effect is Effect.NON_TERMINATING else effect
    if tool in ("psql", "mysql"):
        if "-f" in flags or "--file" in flags or re.search(r"(?<![<])<(?![<])\s*\S", text):
            return Effect.MUTATING  # replays a file of statements: a restore
        query = " ".join(a for a in args if not a.startswith("-"))
        return sql_effect(query)
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
    verb, resource = kubectl_verb(tokens)
    flags = set(tokens[: tokens.index("--")] if "--" in tokens else tokens)
    if verb is None or any(t.startswith("--dry-run") and t != "--dry-run=none" for t in flags if t[:2] == "--"):
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
        return part_effect(inner, " ".join(inner))
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
