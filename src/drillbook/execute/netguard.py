"""The curl/wget shim's logic: refuse any target that is not loopback, then hand over to the real tool.

This file is copied verbatim into the shim directory (standard library only, so the shim starts fast and
needs no drillbook import); :func:`drillbook.execute.runner.make_shims` appends the call to :func:`main`.
It is a second line of defence behind the policy, for URLs a command builds at run time (``eval``,
variables, scripts) that no policy can see before the command runs.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from urllib.parse import urlsplit

_CURL_VALUES = frozenset(
    {"-o", "--output", "-d", "--data", "--data-raw", "--data-binary", "--data-urlencode", "--data-ascii", "--json",
     "-H", "--header", "-X", "--request", "-u", "--user", "-w", "--write-out", "-m", "--max-time", "-A",
     "--user-agent", "-e", "--referer", "-b", "--cookie", "-c", "--cookie-jar", "-T", "--upload-file", "-F", "--form",
     "-U", "--proxy-user", "--connect-timeout", "--header-file", "--retry", "--limit-rate", "-r", "--range", "-E",
     "--cert", "--key", "--cacert", "-t", "--telnet-option", "-P", "--ftp-port", "-C", "--continue-at"}
)  # fmt: skip
_WGET_VALUES = frozenset(
    {"-O", "--output-document", "-o", "--output-file", "-a", "--append-output", "--header", "--post-data",
     "--post-file", "-U", "--user-agent", "-t", "--tries", "-T", "--timeout", "-P", "--directory-prefix", "--user",
     "--password", "-w", "--wait"}
)  # fmt: skip
_HOST_VALUE_FLAGS = frozenset(
    {"-x", "--proxy", "--preproxy", "--socks4", "--socks4a", "--socks5", "--socks5-hostname", "--connect-to",
     "--resolve", "--dns-servers", "--doh-url"}
)  # fmt: skip
_UNKNOWABLE = frozenset({"-K", "--config", "-i", "--input-file", "-e", "--execute"})
"""Flags whose targets come from a file or a command (wget ``-e``): refused outright."""


def main(real: str, argv: list[str]) -> int:
    """Check every target of ``argv[1:]``; exec the real tool when all are loopback."""
    tool = os.path.basename(argv[0])
    refused = [target for target in targets(tool, argv[1:]) if not is_loopback(target)]
    if not refused:
        os.execv(real, [real, *argv[1:]])  # replaces this process: nothing after it runs
    sys.stderr.write(
        f"drillbook: {tool} to {', '.join(refused)} is blocked: only the sandbox (loopback) may be reached\n"
    )
    return 6


def targets(tool: str, args: list[str]) -> list[str]:
    """Every host the tool would contact (an unknowable target is reported by its flag)."""
    found: list[str] = []
    skip = False
    for index, word in enumerate(args):
        if skip:
            skip = False
            continue
        flag, equals, attached = word.partition("=")
        value = attached if equals else (args[index + 1] if index + 1 < len(args) else "")
        if flag in _UNKNOWABLE and not (tool == "curl" and flag in {"-e", "-i"}):
            found.append(f"(targets from {flag})")
            skip = not equals
        elif flag in _HOST_VALUE_FLAGS:
            found.extend(_redirect_hosts(flag, value))
            skip = not equals
        elif word in (_WGET_VALUES if tool == "wget" else _CURL_VALUES):
            skip = True
        elif word.startswith("-"):
            continue
        elif "://" in word:
            found.append(_host(word))
        else:  # scheme-less: "example.com", "host:8080/x", "[::1]:80"
            found.append(_host("http://" + word))
    return found


def _redirect_hosts(flag: str, value: str) -> list[str]:
    if flag == "--connect-to":  # HOST1:PORT1:HOST2:PORT2
        fields = value.split(":")
        return [fields[2]] if len(fields) > 2 and fields[2] else []
    if flag == "--resolve":  # HOST:PORT:ADDRESS[,ADDRESS]
        return [a.strip("[]") for a in value.split(":", 2)[-1].split(",")]
    if flag in {"--dns-servers", "--doh-url"}:
        return [_host(item) if "://" in item else item.split(":")[0] for item in value.split(",")]
    return [_host(value if "://" in value else "http://" + value)]


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost."""
    host = host.strip("[]").lower().rstrip(".")
    if host in {"localhost", "ip6-localhost", "ip6-loopback"}:
        return True
    if re.fullmatch(r"[0-9a-f:.]+", host) is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
