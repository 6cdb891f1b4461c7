"""Faults talk to the fault proxy only through the Toxiproxy HTTP API, via the ``toxiproxy-python``
client, so a real Toxiproxy can stand in for drillbook's own."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from toxiproxy import Toxiproxy

from drillbook.errors import FaultInjectionError


def proxy(url: str, name: str) -> Any:
    """The named proxy on the Toxiproxy server at ``url``."""
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise FaultInjectionError(f"the fault proxy URL {url!r} needs a host and a port")
    server = Toxiproxy()
    # The client keeps its endpoint in class attributes; set it before every use.
    server.update_api_consumer(parts.hostname, parts.port)
    found = server.get_proxy(name)
    if found is None:
        known = ", ".join(sorted(server.proxies())) or "none"
        raise FaultInjectionError(f"no proxy {name!r} on the fault proxy at {url}; it has: {known}")
    return found
