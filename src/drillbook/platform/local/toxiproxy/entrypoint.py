"""Stand-in for the ``ghcr.io/shopify/toxiproxy`` image (``python -m <this module> -host=0.0.0.0 ...``).

Accepts the real binary's flags ``-host``, ``-port`` and ``-config`` (Go style: ``-flag=value``, ``-flag value``
or ``--flag``). A wildcard host binds the pod's ``$POD_IP`` (default 127.0.0.1); proxies listening on a wildcard
bind it too, and upstream hosts naming a Service resolve through the pod's ``<NAME>_SERVICE_HOST`` variables.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from drillbook.platform.local.toxiproxy.addresses import WILDCARDS, HostPolicy, service_hosts
from drillbook.platform.local.toxiproxy.errors import ApiError, FaultProxyError
from drillbook.platform.local.toxiproxy.server import FaultProxyServer, run_until_signalled

FLAGS = ("host", "port", "config")


def parse_flags(argv: Sequence[str]) -> dict[str, str]:
    """Go-style flags of the toxiproxy binary; unknown ones are errors, as Go's flag package makes them."""
    values: dict[str, str] = {"host": "localhost", "port": "8474"}
    items = list(argv)
    while items:
        item = items.pop(0)
        name, sep, value = item.lstrip("-").partition("=")
        if not item.startswith("-") or name not in FLAGS:
            raise ValueError(f"flag provided but not defined: {item} (known: -host, -port, -config)")
        if not sep:
            if not items:
                raise ValueError(f"flag needs an argument: -{name}")
            value = items.pop(0)
        values[name] = value
    return values


def server_from(flags: Mapping[str, str], env: Mapping[str, str]) -> FaultProxyServer:
    """The server the image would run, mapped onto this pod's loopback address."""
    pod_ip = env.get("POD_IP") or "127.0.0.1"
    host = pod_ip if flags["host"] in WILDCARDS else flags["host"]
    if host == "localhost":
        host = "127.0.0.1"
    policy = HostPolicy(wildcard_host=pod_ip, services=service_hosts(env))
    return FaultProxyServer(host, int(flags["port"]), policy=policy)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM."""
    try:
        flags = parse_flags(sys.argv[1:] if argv is None else argv)
        server = server_from(flags, os.environ)
        proxies = json.loads(Path(flags["config"]).read_text()) if "config" in flags else None
        run_until_signalled(server, proxies)
    except (ValueError, OSError, ApiError, FaultProxyError) as exc:
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        print(f"toxiproxy entrypoint: error: {message}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
