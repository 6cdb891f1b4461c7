"""Addresses the fault proxy accepts: ``host:port`` on loopback only, with wildcards and service names mapped.

drillbook never sends traffic off the machine, so every address must end up on 127.0.0.0/8 or ::1. Two
mappings keep real Toxiproxy configs working: a wildcard listen host (``0.0.0.0``, ``::``, empty) binds the
``wildcard_host`` instead, and an upstream host that names a Kubernetes Service resolves through the
``<NAME>_SERVICE_HOST`` variables a pod is given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from drillbook.platform.local.toxiproxy.errors import ApiError

WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})


def parse_address(address: str, field_name: str) -> tuple[str, int]:
    """Split ``host:port`` or ``[v6]:port``; 400 unless the port is a number 0-65535."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ApiError(f"{field_name}: expected host:port, got {address!r}", 400)
    return host.strip("[]") if host not in WILDCARDS else host, int(port_text)


def join_address(host: str, port: int) -> str:
    """``host:port``, bracketing IPv6 hosts."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def require_loopback(host: str, field_name: str) -> str:
    """Return ``host`` if it is loopback (or ``localhost``), else a 400 that says what to do."""
    if host == "localhost":
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise ApiError(
        f"{field_name}: drillbook's fault proxy only uses loopback addresses (127.0.0.0/8, ::1, localhost), "
        f"got {host!r}; point it at a local listener instead",
        400,
    )


def service_hosts(env: Mapping[str, str]) -> dict[str, str]:
    """Service name → host from Kubernetes-style ``<NAME>_SERVICE_HOST`` variables (``REDIS_CACHE`` → redis-cache)."""
    suffix = "_SERVICE_HOST"
    return {key[: -len(suffix)].lower().replace("_", "-"): value for key, value in env.items() if key.endswith(suffix)}


@dataclass(frozen=True)
class HostPolicy:
    """How listen and upstream hosts map onto loopback."""

    #: Where wildcard listen addresses bind (a pod binds its own 127.0.0.x).
    wildcard_host: str = "127.0.0.1"
    #: Upstream host names that are Services, to their loopback address.
    services: Mapping[str, str] = field(default_factory=dict)

    def listen(self, address: str) -> tuple[str, int]:
        """The loopback host and port to bind for a listen address."""
        host, port = parse_address(address, "listen")
        if host in WILDCARDS:
            host = self.wildcard_host
        elif host == "localhost":
            host = "127.0.0.1"  # one address: port 0 would otherwise bind a different port per family
        return require_loopback(host, "listen"), port

    def upstream(self, address: str) -> tuple[str, int]:
        """The loopback host and port to dial for an upstream address."""
        host, port = parse_address(address, "upstream")
        service = host.split(".")[0].lower()  # redis.default.svc.cluster.local → redis
        if host not in WILDCARDS and service in self.services and not _is_ip(host):
            host = self.services[service]
        return require_loopback(host, "upstream"), port


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
