"""What a command would contact: every host a part of a shell line names, and whether it is loopback.

URLs anywhere, ``-h``/``--host`` and ``host=`` of database clients, ``PGHOST=``, ``/dev/tcp``, ``openssl
-connect``, socat addresses, ``user@host`` of ssh-like tools, curl/wget/httpie positionals, proxies,
``--connect-to`` and ``--resolve``.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from drillbook.execute.shell import Part

_URL = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"`<>]*""")
"""Any scheme: curl alone speaks smtp, ftp, dict, gopher, ldap, telnet, scp… (``file://`` has no host: not loopback)."""
_DEV_NET = re.compile(r"/dev/(?:tcp|udp)/([^/\s'\"]+)/")
_SOCAT = re.compile(r"^(?:TCP[46]?|TCP-CONNECT|OPENSSL|SSL|UDP[46]?|UDP-SENDTO|SOCKS4A?|PROXY)[:-]([^:,]+)", re.I)
_CONNINFO_HOST = re.compile(r"(?<![\w-])(?:host|hostaddr)\s*=\s*'?([^\s',]+(?:,[^\s',]+)*)")


def _flags(words: str) -> frozenset[str]:
    return frozenset(words.split())


_VALUE_FLAGS: dict[str, frozenset[str]] = {
    "curl": _flags(
        "-o --output -d --data --data-raw --data-binary --data-urlencode --data-ascii --json -H --header -X "
        "--request -u --user -w --write-out -m --max-time --connect-timeout -A --user-agent -e --referer -b "
        "--cookie -c --cookie-jar -T --upload-file -F --form --form-string --header-file -U --proxy-user -E "
        "--cert --key --cacert --capath -r --range -C --continue-at --retry --retry-delay --retry-max-time "
        "-Y --speed-limit -y --speed-time --limit-rate --interface --dns-servers --url-query"
    ),
    "wget": _flags(
        "-O --output-document -o --output-file -a --append-output --header --post-data --post-file -U "
        "--user-agent -t --tries -T --timeout -P --directory-prefix --user --password -w --wait"
    ),
    "nc": _flags("-w -p -s -x -i -q -W -X -O -I -c -e"),
    "ping": _flags("-c -i -w -W -s -I -t -l -p -Q -M"),
}
_VALUE_FLAGS["ncat"] = _VALUE_FLAGS["netcat"] = _VALUE_FLAGS["nc"]
_VALUE_FLAGS["ping6"] = _VALUE_FLAGS["ping"]
_VALUE_FLAGS["http"] = _VALUE_FLAGS["https"] = _VALUE_FLAGS["xh"] = frozenset({"-a", "--auth", "-o", "--output"})
_PG_TOOLS = frozenset({"psql", "pg_isready", "pg_dump", "pg_dumpall", "pg_restore", "pg_basebackup", "pgbench"})
_HOST_FLAG_TOOLS = _PG_TOOLS | {"redis-cli", "redis-benchmark", "mongo", "mongosh", "mysql", "mysqladmin"}
_CURL_REDIRECTS = frozenset({"-x", "--proxy", "--preproxy", "--socks4", "--socks4a", "--socks5", "--socks5-hostname"})
HOST_VARIABLES = frozenset({"PGHOST", "PGHOSTADDR", "REDISCLI_HOST", "REDIS_HOST", "MYSQL_HOST", "MONGO_HOST"})
"""Variables naming the host that later database clients (and drillbook's ``redis-cli`` shim) connect to."""
UNKNOWN_TARGET = "(a target read from a file)"
"""The host reported for ``curl -K file`` / ``wget -i file``: what it contacts cannot be known before it runs."""


def urls(text: str) -> list[str]:
    """Every URL in the text."""
    return [match.group(0).rstrip(").,;") for match in _URL.finditer(text)]


def hosts(part: Part) -> list[str]:
    """Every host this part would contact."""
    found = [_url_host(url) for url in urls(part.text)]
    found.extend(match.group(1) for match in _DEV_NET.finditer(part.text))
    program, args = part.program, part.args
    assigned = list(part.assignments)
    if program in {"export", "env", "declare", "typeset", "readonly", "local", "set"}:
        assigned.extend(a for a in args if "=" in a)  # `export PGHOST=…; psql`: the next commands go there
    for word in assigned:
        name, _, value = word.partition("=")
        if name in HOST_VARIABLES:
            found.extend(value.strip("'\"").split(","))
    if program in _HOST_FLAG_TOOLS:
        found.extend(_flag_hosts(args))
    if program in _PG_TOOLS:
        for word in args:
            for match in _CONNINFO_HOST.finditer(word):
                found.extend(match.group(1).split(","))
    if program in {"nc", "ncat", "netcat", "ping", "ping6", "telnet"}:
        found.extend(_positionals(program, args)[:1])
    if program == "openssl" and "-connect" in args and args.index("-connect") + 1 < len(args):
        found.append(_strip_port(args[args.index("-connect") + 1]))
    if program == "socat":
        found.extend(m.group(1) for m in map(_SOCAT.match, args) if m)
    if program in {"ssh", "scp", "rsync", "sftp"}:
        found.extend(w.split("@", 1)[1].split(":", 1)[0] for w in args if "@" in w)
    if program in {"curl", "wget", "http", "https", "xh"}:
        found.extend(_fetcher_hosts(program, args))
    return [h for h in found if h]


def _url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:  # a malformed URL is judged as an unknown host
        return url


def _flag_hosts(args: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for index, word in enumerate(args):
        if word in {"-h", "--host"} and index + 1 < len(args):
            found.append(args[index + 1])
        elif word.startswith("--host="):
            found.append(word.split("=", 1)[1])
        elif word.startswith("-h") and len(word) > 2 and not word.startswith("--"):
            found.append(word[2:])
    return found


def _positionals(program: str, args: tuple[str, ...]) -> list[str]:
    values = _VALUE_FLAGS.get(program, frozenset())
    found: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
        elif word in values:
            skip = True
        elif not word.startswith("-"):
            found.append(word)
    return found


def _fetcher_hosts(program: str, args: tuple[str, ...]) -> list[str]:
    """Hosts of curl/wget/httpie: scheme-less positionals, proxies, ``--connect-to`` and ``--resolve``."""
    found: list[str] = []
    for index, word in enumerate(args):
        value = args[index + 1] if index + 1 < len(args) else ""
        flag, _, attached = word.partition("=")
        value = attached or value
        if flag in _CURL_REDIRECTS:
            found.append(_url_host(value) if "://" in value else _strip_port(value))
        elif flag == "--connect-to":  # HOST1:PORT1:HOST2:PORT2: the connection goes to HOST2
            fields = value.split(":")
            found.append(fields[2] if len(fields) > 2 and fields[2] else "")
        elif flag == "--resolve":  # HOST:PORT:ADDRESS[,ADDRESS]
            found.extend(value.split(":", 2)[-1].strip("[]").split(",") if value.count(":") >= 2 else [value])
        elif (flag in {"-K", "--config"} and program == "curl") or (
            flag in {"-i", "--input-file", "-e", "--execute"} and program == "wget"
        ):
            found.append(UNKNOWN_TARGET)
    for word in _positionals(program, args):
        if "://" in word:
            continue  # already seen as a URL
        if program in {"http", "https", "xh"} and word.isupper():
            continue  # the HTTP method
        match = re.match(r"^([\w.-]+|\[[0-9a-fA-F:.]+\])(:\d+)?(/|$)", word)
        if match and "=" not in word and ("." in match.group(1) or match.group(2) or match.group(3) == "/"):
            found.append(match.group(1).strip("[]"))
        elif program in {"curl", "wget"} and re.match(r"^[\w-]+$", word):
            found.append(word)  # a bare name is a host to curl ("curl prometheus")
    return found


def _strip_port(value: str) -> str:
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost (a malformed address is not loopback)."""
    host = host.strip("[]").lower().rstrip(".")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
