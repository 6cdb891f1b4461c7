"""Loopback IP allocation, safe across several localkube processes on one machine.

Pods take addresses from 127.10.0.0/16, Services from 127.20.0.0/16. Two localkubes (two sandboxes of a parallel
game day, two test workers) allocate at the same moment: checking that an address is free and then binding it is
a race both can win, and the loser's clients then reach the *other* sandbox's server. So each allocated address
holds an flock on a file in a machine-wide dir for as long as its owner uses it (released automatically when the
process dies), and an address another process listens on is skipped as well.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from drillbook.platform.local.kube.status import ApiStatusError

POD_NETWORK = ipaddress.IPv4Network("127.10.0.0/16")
SERVICE_NETWORK = ipaddress.IPv4Network("127.20.0.0/16")
LISTENING_TTL_S = 1.0


class IPExhausted(ApiStatusError):
    """Every address of the pool's network is in use."""


class LoopbackIPPool:
    """Addresses of one loopback network, never handed out while another holder (any process) has them."""

    def __init__(self, network: ipaddress.IPv4Network, lock_dir: Path, *, what: str) -> None:
        """Create a pool.

        Args:
            network: The addresses to hand out (its first two and last are never handed out).
            lock_dir: Where the per-address lock files live; every process sharing the network must use the same.
            what: What the addresses are for, in the error when none is left ("pod", "service").
        """
        self.network = network
        self._held: dict[str, int] = {}
        self._next = 2
        self._lock_dir = lock_dir
        self._what = what
        self._listening_cache: tuple[float, set[str]] | None = None

    def allocate(self, usable: Callable[[str], bool] = lambda _ip: True) -> str:
        """Take the next free address for which ``usable`` holds (lowest first after a restart).

        Raises:
            IPExhausted: No address of the network is free.
        """
        self._lock_dir.mkdir(exist_ok=True)
        listening = self._listening()
        size = self.network.num_addresses - 3
        for _ in range(size):
            candidate = str(self.network[self._next])
            self._next = self._next + 1 if self._next + 1 < self.network.num_addresses - 1 else 2
            if candidate in self._held or candidate in listening or not usable(candidate):
                continue
            if self.claim(candidate):
                return candidate
        raise IPExhausted(
            500,
            f"expected a free {self._what} IP in {self.network}, all {size} are in use; delete some {self._what}s",
        )

    def _listening(self) -> set[str]:
        """The listening addresses, read at most once a second: a scale-out allocates a burst of pod IPs, and the
        flocks already keep every drillbook process off the addresses this one holds."""
        now = time.monotonic()
        if self._listening_cache is None or now - self._listening_cache[0] > LISTENING_TTL_S:
            self._listening_cache = (now, _listening_ips())
        return self._listening_cache[1]

    def claim(self, ip: str) -> bool:
        """Hold ``ip`` (e.g. one a restarted server finds in its store); False when another process holds it."""
        if ip in self._held:
            return True
        self._lock_dir.mkdir(exist_ok=True)
        fd = os.open(self._lock_dir / ip, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._held[ip] = fd
        return True

    def release(self, ip: str) -> None:
        """Give an address back once nothing of its holder uses it."""
        fd = self._held.pop(ip, None)
        if fd is not None:
            os.close(fd)  # closing drops the flock


def _default_lock_dir(name: str) -> Path:
    return Path(tempfile.gettempdir()) / name


class PodIPPool(LoopbackIPPool):
    """Pod IPs from 127.10.0.0/16."""

    def __init__(self, lock_dir: Path | None = None) -> None:
        super().__init__(POD_NETWORK, lock_dir or _default_lock_dir("drillbook-localkube-pod-ips"), what="pod")


class ServiceIPPool(LoopbackIPPool):
    """Service cluster IPs from 127.20.0.0/16."""

    def __init__(self, lock_dir: Path | None = None) -> None:
        super().__init__(
            SERVICE_NETWORK, lock_dir or _default_lock_dir("drillbook-localkube-service-ips"), what="service"
        )


_TCP_LISTEN = "0A"
"""The kernel's state code for a listening socket in ``/proc/net/tcp``."""
_LISTEN_FIELD = f" {_TCP_LISTEN} "


def _listening_ips() -> set[str]:
    """IPv4 addresses some socket of this network namespace listens on.

    Read from ``/proc/net/tcp`` itself: psutil's ``net_connections`` also maps every socket to its process by
    walking every process's file descriptors, which took 60 ms per pod on a busy machine, all of it on localkube's
    event loop: a scale-out to 20 replicas stalled every Service connection for over a second.
    """
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return _listening_ips_by_psutil()
    found = set()
    for line in lines:
        if _LISTEN_FIELD not in line:  # cheap pre-filter: most lines are connections, not listeners
            continue
        fields = line.split()
        if len(fields) > 3 and fields[3] == _TCP_LISTEN:
            address = fields[1].partition(":")[0]
            found.add(str(ipaddress.IPv4Address(int(address, 16).to_bytes(4, sys.byteorder))))
    return found


def _listening_ips_by_psutil() -> set[str]:
    try:
        return {c.laddr.ip for c in psutil.net_connections(kind="inet4") if c.status == psutil.CONN_LISTEN and c.laddr}
    except psutil.Error:
        return set()
