"""Pod IP allocation from 127.10.0.0/16, safe across several localkube processes on one machine."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import tempfile
from pathlib import Path

import psutil

from drillbook.platform.local.kube.kubelet.errors import KubeletError

_POD_NETWORK = ipaddress.IPv4Network("127.10.0.0/16")


class PodIPPool:
    """Pod IPs from 127.10.0.0/16, never handing out one still in use — also by another localkube on this machine.

    Each allocated IP holds an flock on a file in the temp dir (released automatically when this process dies), and
    IPs with a listening socket are skipped, so parallel sandboxes and test runs cannot collide.
    """

    def __init__(self, lock_dir: Path | None = None) -> None:
        """Create a pool.

        Args:
            lock_dir: Where the per-IP lock files live; the default is shared by every localkube on the machine.
        """
        self._held: dict[str, int] = {}
        self._next = 2
        self._lock_dir = lock_dir or Path(tempfile.gettempdir()) / "drillbook-localkube-pod-ips"

    def allocate(self) -> str:
        """Take the next free IP (lowest first after a restart).

        Raises:
            KubeletError: Every IP of the range is in use.
        """
        self._lock_dir.mkdir(exist_ok=True)
        listening = _listening_ips()
        size = _POD_NETWORK.num_addresses - 3
        for _ in range(size):
            candidate = str(_POD_NETWORK[self._next])
            self._next = self._next + 1 if self._next + 1 < _POD_NETWORK.num_addresses - 1 else 2
            if candidate in self._held or candidate in listening:
                continue
            fd = os.open(self._lock_dir / candidate, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self._held[candidate] = fd
            return candidate
        raise KubeletError(
            f"expected a free pod IP in {_POD_NETWORK}, all {size} are in use; delete some pods", http_status=500
        )

    def release(self, ip: str) -> None:
        """Give an IP back once its pod's processes are gone."""
        fd = self._held.pop(ip, None)
        if fd is not None:
            os.close(fd)  # closing drops the flock


def _listening_ips() -> set[str]:
    try:
        return {c.laddr.ip for c in psutil.net_connections(kind="inet4") if c.status == psutil.CONN_LISTEN and c.laddr}
    except psutil.Error:
        return set()
