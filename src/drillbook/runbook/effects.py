"""What running a shell or SQL command does: read-only, mutating, destructive, external, notification, never-ending,
or unknown.

Decisions (the executor's policy builds on them): curl/wget are read-only for GET and mutating for other methods
when the URL is a variable, a cluster name or loopback (the scenario's bindings decide what it reaches), and external
for a literal public host (``https://api.example.com``); Slack/PagerDuty/Opsgenie/status-page URLs, ``mail`` and
``*-notify`` tools are notifications; cloud CLIs (aws, gcloud, az, terraform, …), ssh/scp/rsync/knife/fab/ansible,
``gh``, ``argocd`` and ``git push`` are external; deleting any workload, volume or namespace kind, ``--replicas=0``,
``--cascade=orphan``, SQL ``DROP``/``TRUNCATE``/``DELETE`` without ``WHERE``, ``FLUSHALL``/``FLUSHDB``, ``rm -r``
(also inside ``bash -c``), ``pg_restore --clean``, ``docker/podman rm/rmi`` and ``aws s3 rm`` are destructive;
``-w``/``-f``/``watch``/``top`` never end (``timeout N`` bounds them); ``--dry-run`` is read-only; ``npm run
health*``/``test*``/``*:status`` and ``docker compose logs/ps`` are read-only; a tool drillbook does not know is
``unknown``, never assumed mutating. A command with several parts (``|``, ``&&``, ``||``, ``;``) takes its worst part.
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
    Effect.UNKNOWN: 2,
    Effect.MUTATING: 3,
    Effect.NON_TERMINATING: 4,
    Effect.NOTIFICATION: 5,
    Effect.EXTERNAL: 6,
    Effect.DESTRUCTIVE: 7,
}
_EXTERNAL_TOOLS = _words(
    "aws gcloud az terraform terragrunt pulumi doctl eksctl gsutil bq oci ibmcloud heroku flyctl vercel "
    "ssh-keyscan ssh-copy-id ssh scp sftp rsync mosh knife fab ansible ansible-playbook salt pssh pdsh gh glab hub "
    "argocd vault consul nomad ecs-cli sam cdk serverless"
)
_NOTIFY_TOOLS = _words("slack mail sendmail mailx pagerduty pd statuspage opsgenie notify-send slack-notify")
_WORKLOAD_KINDS = _words(
    "pod pods po deployment deployments deploy statefulset statefulsets sts daemonset daemonsets ds replicaset "
    "replicasets rs job jobs cronjob cronjobs cj namespace namespaces ns pvc pvcs persistentvolumeclaim "
    "persistentvolumeclaims pv pvs persistentvolume persistentvolumes all crd crds customresourcedefinition "
    "customresourcedefinitions service services svc secret secrets configmap configmaps cm node nodes "
    "replicationcontroller rc volumesnapshot volumesnapshots"
)
_EPHEMERAL_KINDS = _words("event events ev lease leases")
_LOCAL_HOST = re.compile(
    r"^(?:localhost|127\.[\d.]+|0\.0\.0\.0|\[?::1\]?|10\.[\d.]+|192\.168\.[\d.]+|172\.(?:1[6-9]|2\d|3[01])\.[\d.]+|"
    r"[^.]+|.*\.(?:svc|local|internal|cluster|localhost|lan|test|corp|intra)(?:\.[\w.]*)?)$",
    re.IGNORECASE,
)
_URL = re.compile(r"\bhttps?://([^/\s:'\"?#]+)", re.IGNORECASE)
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


_PART = re.compile(r"""(?:[^|&;'"\\]+|\\.|'[^']*'|"(?:[^"\\]|\\.)*"|(?<!&)&(?!&)|['"])+""")
_WORD = re.compile(r"""(?:[^\s'"\\]+|\\.|'[^']*'|"(?:[^"\\]|\\.)*")+""")
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
        quoted = "'" in word or '"' in word or "\\" in word
        words.append(_QUOTED.sub(_unquote, word) if quoted else word)
    return words


def _unquote(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2) or match.group(3) or ""


def shell_tokens(part: str) -> list[str]:
    """Words of one command part, without leading ``VAR=value``, ``sudo``, ``time``, ``nohup`` or ``exec``."""
    tokens = _shell_words(part)
    if tokens and tokens[0] == "sudo":
        # sudo's own options: "-u postgres", "-E", "-i" come before the command it runs.
        rest = tokens[1:]
        while rest and rest[0].startswith("-"):
            rest = rest[2:] if rest[0] in ("-u", "-g", "-h", "-p", "-C", "-D", "-U", "--user", "--group") else rest[1:]
        tokens = ["sudo", *rest]
    while tokens and (
        _ASSIGNMENT.match(tokens[0]) or tokens[0] in ("sudo", "time", "nohup", "exec", "do", "then", "else", "{", "!")
    ):
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
    if _SQL_DESTROYS.search(upper) or _SQL_DELETES_ALL.search(upper):
        return Effect.DESTRUCTIVE
    if _SQL_WRITES.search(upper) or _SQL_ADMIN.search(upper):
        return Effect.MUTATING
    return Effect.READ_ONLY


_SQL_DESTROYS = re.compile(r"\b(DROP|TRUNCATE|FLUSHALL|FLUSHDB)\b|PG_DROP_\w+")
_SQL_DELETES_ALL = re.compile(r"\bDELETE\s+FROM\b(?![^;]*\bWHERE\b)")
_SQL_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|ALTER|CREATE|VACUUM|REINDEX|GRANT|REVOKE|CLUSTER|REFRESH|COPY)\b")
_SQL_ADMIN = re.compile(r"PG_TERMINATE_BACKEND|PG_CANCEL_BACKEND|PG_RELOAD_CONF|SET\s")


def part_effect(tokens: list[str], text: str) -> Effect:
    """The effect of one part of a shell line (no ``|``, ``&&`` or ``;`` inside)."""
    tool = tool_name(tokens)
    args = tokens[1:]
    flags = set(args)
    if not tool:
        return Effect.READ_ONLY
    if tool == "kubectl":
        return kubectl_effect(tokens)
    if tool == "timeout":
        inner = args[1:] if args and args[0][:1].isdigit() else args[2:]
        effect = part_effect(inner, " ".join(inner))
        return Effect.READ_ONLY if effect is Effect.NON_TERMINATING else effect
    if tool in ("bash", "sh", "zsh", "dash", "ash") and "-c" in args[:3]:
        script = args[args.index("-c") + 1] if args.index("-c") + 1 < len(args) else ""
        return _script_effect(script) if script else Effect.UNKNOWN
    if tool in ("psql", "mysql"):
        # ``<DB_HOST>`` is a placeholder, not a redirect; ``< dump.sql`` replays a file of statements: a restore.
        unplaced = _ANGLE_PLACEHOLDER.sub("X", text) if "<" in text else text
        if "-f" in flags or "--file" in flags or re.search(r"(?<![<])<(?![<])\s*\S", unplaced):
            return worst([Effect.MUTATING, sql_effect(text)])
        query = " ".join(a for a in args if not a.startswith("-"))
        return sql_effect(query)
    if tool == "xargs":
        rest = list(args)
        while rest and rest[0].startswith("-"):
            rest = rest[2:] if rest[0] in ("-n", "-I", "-P", "-L", "-d", "-s", "-E") else rest[1:]
        return part_effect(rest, " ".join(rest)) if rest else Effect.READ_ONLY
    if tool in ("pg_restore", "mongorestore"):
        return Effect.DESTRUCTIVE if flags & {"--clean", "-c", "--drop"} else Effect.MUTATING
    if tool == "redis-cli":
        return _redis_effect(args)
    if tool in ("curl", "wget", "http", "https", "httpie", "xh"):
        if _NOTIFY_HOSTS.search(text):
            return Effect.NOTIFICATION
        if any(not _LOCAL_HOST.match(host) for host in _URL.findall(text)):
            return Effect.EXTERNAL  # a literal public URL: production, a vendor, the internet
        method = _curl_method(args)
        if method == "DELETE":
            return Effect.DESTRUCTIVE  # deletes an index, a bucket, a record
        return Effect.READ_ONLY if method in ("GET", "HEAD") else Effect.MUTATING
    if tool in _NOTIFY_TOOLS or tool.endswith("-notify") or tool.startswith(("slack", "pagerduty", "opsgenie")):
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
        if any(a.startswith("--vacuum") for a in args):
            return Effect.DESTRUCTIVE  # deletes archived journal files: the history is gone
        if any(a.startswith(JOURNAL_CHANGES) for a in args):
            return Effect.MUTATING
        return Effect.NON_TERMINATING if flags & {"-f", "--follow"} else Effect.READ_ONLY
    if tool == "tail":
        return Effect.NON_TERMINATING if flags & {"-f", "-F", "--follow"} else Effect.READ_ONLY
    if tool == "ping":
        return Effect.READ_ONLY if any(a.startswith("-c") for a in args) else Effect.NON_TERMINATING
    if tool == "rm":
        return Effect.DESTRUCTIVE if any(_RECURSIVE.match(a) for a in args) else Effect.MUTATING
    if tool in ("mongo", "mongosh"):
        return _mongo_effect(text)
    if tool in ("helm", "docker", "podman", "docker-compose", "nerdctl", "crictl", "ctr"):
        return _package_effect(tool, args)
    if tool in ("npm", "yarn", "pnpm", "npx"):
        return _npm_effect(tool, args)
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
    if tool in _MUTATING_TOOLS:
        return Effect.MUTATING
    if any(_DESTROYING.match(a) for a in args):
        return Effect.DESTRUCTIVE  # rabbitmqctl purge_queue, kafka-topics --delete, an in-house "wipe"
    return Effect.UNKNOWN


JOURNAL_CHANGES = ("--vacuum", "--rotate", "--flush", "--relinquish-var", "--sync", "--setup-keys")
"""journalctl options that change the journal rather than read it (the policy refuses them on the host too)."""
_RECURSIVE = re.compile(r"^-\w*[rR]")
_DESTROYING = re.compile(
    r"^(?:--?)?(?:purge\w*|delete\w*|destroy|drop\w*|truncate|wipe|flush\w*|erase|rmi|rm|remove|reset|"
    r"force-delete|forget)$",
    re.IGNORECASE,
)


_ANGLE_PLACEHOLDER = re.compile(r"<[A-Za-z][\w.\- ]{0,40}>")
_MUTATING_TOOLS = _words(
    "kill pkill killall mv cp mkdir touch chmod chown ln tee gunzip gzip tar unzip zip truncate dd iptables ufw "
    "nft firewall-cmd apt apt-get yum dnf pip pip3 kubeadm kustomize oc crictl ctr "
    "systemd-run reboot shutdown sysctl ip route mount umount useradd usermod passwd crontab certbot nginx "
    "redis-server pg_ctl pg_ctlcluster pg_basebackup pg_upgrade createdb createuser mongod"
)


def _script_effect(script: str) -> Effect:
    """The worst effect of a ``bash -c '…'`` script, line by line and part by part."""
    effects = [part_effect(shell_tokens(part), part) for line in script.splitlines() for part in split_parts(line)]
    return worst(effects) if effects else Effect.UNKNOWN


_NPM_READ = re.compile(
    r"^(?:health|healthcheck|health-check|status|check|verify|smoke|test|lint|audit|doctor|info|version|"
    r"[\w-]*:status|[\w-]*:check|[\w-]*:verify|[\w-]*:health|[\w-]*:smoke|[\w-]*:list)(?:[:-][\w:-]*)?$"
)


def _npm_effect(tool: str, args: list[str]) -> Effect:
    words = [a for a in args if not a.startswith("-")]
    sub = words[0] if words else ""
    if tool == "npx":
        return Effect.UNKNOWN
    if sub == "audit" and "fix" in words:
        return Effect.MUTATING
    if sub in ("ls", "list", "view", "info", "outdated", "audit", "doctor", "version", "--version", "config", "why"):
        return Effect.READ_ONLY
    if sub in ("install", "i", "ci", "update", "uninstall", "remove", "add", "link", "rebuild", "prune"):
        return Effect.MUTATING
    if sub in ("publish", "deploy"):
        return Effect.EXTERNAL
    if sub in ("run", "run-script") or (tool == "yarn" and sub not in ("",)):
        script = words[1] if sub in ("run", "run-script") and len(words) > 1 else sub
        if _NPM_READ.match(script) or script.startswith(("test", "health")):
            return Effect.READ_ONLY
        if re.search(r"migrat|seed|deploy|reset|restart|start|build|rollback|release|clean|fix|sync", script):
            return Effect.MUTATING
        return Effect.UNKNOWN
    if sub in ("test", "t"):
        return Effect.READ_ONLY
    if sub in ("start", "restart", "stop"):
        return Effect.MUTATING
    return Effect.UNKNOWN


def kubectl_effect(tokens: list[str], verb_resource: tuple[str | None, str | None] | None = None) -> Effect:
    """The effect of a kubectl command; ``verb_resource``: its :func:`kubectl_verb`, when the caller has it."""
    verb, resource = verb_resource or kubectl_verb(tokens)
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
        kinds = {kind for r in (resource or "").split(",") for kind in (r.split(".", 1)[0],)}
        if not kinds & _EPHEMERAL_KINDS or "--all" in flags or "-A" in flags or "--all-namespaces" in flags:
            return Effect.DESTRUCTIVE  # any workload, volume, config or namespace; names from stdin too
    if any(t in ("--replicas=0", "--cascade=orphan") for t in flags) or (
        "--replicas" in tokens and tokens[tokens.index("--replicas") + 1 : tokens.index("--replicas") + 2] == ["0"]
    ):
        return Effect.DESTRUCTIVE
    if verb == "drain" or (verb == "patch" and re.search(r"""["']?replicas["']?\s*:\s*0\b""", " ".join(tokens))):
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
    if command in ("FLUSHALL", "FLUSHDB", "SHUTDOWN", "DEL", "UNLINK"):
        return Effect.DESTRUCTIVE
    if command in ("MONITOR", "SUBSCRIBE", "PSUBSCRIBE"):
        return Effect.NON_TERMINATING
    if command in ("SET", "EXPIRE", "HSET", "LPUSH", "RPUSH", "SADD", "ZADD", "INCR", "DECR"):
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
    if _MONGO_DESTROYS.search(text):
        return Effect.DESTRUCTIVE
    if _MONGO_WRITES.search(text):
        return Effect.MUTATING
    return Effect.READ_ONLY


_MONGO_DESTROYS = re.compile(r"dropDatabase|\.drop\(|deleteMany\(\s*\{\s*\}|\.remove\(\s*\{\s*\}")
_MONGO_WRITES = re.compile(r"\b(insert\w*|update\w*|delete\w*|remove|createIndex|stepDown|rs\.reconfig)\b")


def _package_effect(tool: str, args: list[str]) -> Effect:
    sub = next((a for a in args if not a.startswith("-")), "")
    if sub == "exec" and tool in ("docker", "podman", "nerdctl"):
        inner = _after_container(args[args.index("exec") + 1 :])
        if not inner or (inner[0].rsplit("/", 1)[-1] in ("bash", "sh", "ash", "zsh") and len(inner) == 1):
            return Effect.NON_TERMINATING  # an interactive shell only ends when someone types exit
        return part_effect(inner, " ".join(inner))
    if tool == "docker-compose" or sub == "compose":
        return _compose_effect(args[args.index("compose") + 1 :] if sub == "compose" else args)
    if tool == "helm":
        if sub in ("list", "ls", "status", "history", "get", "search", "show", "template", "lint", "version"):
            return Effect.READ_ONLY
        return Effect.DESTRUCTIVE if sub in ("uninstall", "delete") else Effect.MUTATING
    if sub in ("logs", "stats", "events") and ({"-f", "--follow"} & set(args) or sub == "stats"):
        return Effect.READ_ONLY if "--no-stream" in args else Effect.NON_TERMINATING
    if sub in ("ps", "logs", "inspect", "images", "version", "info", "top", "events"):
        return Effect.READ_ONLY
    if sub in ("rm", "rmi", "prune", "kill") or "prune" in args or (sub in ("volume", "image") and "rm" in args):
        return Effect.DESTRUCTIVE
    if sub in ("push", "login"):
        return Effect.EXTERNAL
    return Effect.MUTATING


_EXEC_VALUE_FLAGS = _words("-u --user -e --env -w --workdir --env-file --detach-keys")


def _after_container(args: list[str]) -> list[str]:
    """``[-it -u root] CONTAINER cmd …`` → ``cmd …``."""
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in _EXEC_VALUE_FLAGS
        else:
            return args[index + 1 :]
    return []


_COMPOSE_VALUE_FLAGS = _words("-f --file -p --project-name --profile --env-file --project-directory --ansi")


def _compose_effect(args: list[str]) -> Effect:
    """``docker compose [-f file] <sub> …``: the sub-command comes after the global flags and their values."""
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in _COMPOSE_VALUE_FLAGS
        else:
            words.append(arg)
    sub = words[0] if words else ""
    flags = set(args[args.index(sub) + 1 :]) if sub else set()  # "-f file" before the sub-command is not follow
    if sub in ("logs", "events") and flags & {"-f", "--follow"}:
        return Effect.NON_TERMINATING
    if sub in ("logs", "ps", "top", "images", "config", "version", "events", "ls", "port"):
        return Effect.READ_ONLY
    if sub in ("rm", "kill") or (sub == "down" and flags & {"-v", "--volumes", "--rmi"}):
        return Effect.DESTRUCTIVE
    if sub == "push":
        return Effect.EXTERNAL
    return Effect.MUTATING


KNOWN_TOOLS = (
    _EXTERNAL_TOOLS
    | _NOTIFY_TOOLS
    | _READ_ONLY_TOOLS
    | _MUTATING_TOOLS
    | _NON_TERMINATING_TOOLS
    | _words(
        "kubectl oc k9s helm docker podman docker-compose nerdctl psql mysql redis-cli mongo mongosh pg_restore "
        "mongorestore pg_dump curl wget http httpie xh npm yarn pnpm npx git systemctl service journalctl tail ping "
        "rm sed find iostat vmstat mpstat pidstat sar timeout open xdg-open bash sh zsh kill pg_isready nc telnet "
        "traceroute mtr tcpdump strace perf go node python python3 make istioctl linkerd velero flux k6 ab hey "
        "promtool amtool logcli stern kubectx kubens etcdctl consul vault nomad"
    )
) - _words("if then else elif fi for do done while until case esac exit return wait local read shift true false")
"""Command words drillbook recognises: an inline code span starting with one reads as a command."""
