"""Resource quantities and per-process-group usage (CPU nanocores, RSS) read with psutil."""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass

import psutil

_SUFFIX = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": 0,  # handled separately: milli-units
}
#: CPU usage is averaged over about this many real seconds (kubectl top shows a smoothed rate too).
CPU_WINDOW_S = 1.0
_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)$")


def parse_quantity(value: str | int | float) -> float:
    """Parse a Kubernetes quantity (``64Mi``, ``1Gi``, ``500M``, ``250m``, ``1e3``) into base units.

    Raises:
        ValueError: The text is not a quantity (the message quotes it and the accepted suffixes).
    """
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"expected a quantity like 64Mi, 1Gi, 500M or 250m, got {text!r}")
    number, suffix = float(match.group(1)), match.group(2)
    if suffix == "m":
        return number / 1000
    return number * _SUFFIX[suffix]


@dataclass(frozen=True)
class ContainerUsage:
    """Resource usage of one container (what ``kubectl top`` shows)."""

    cpu_nanocores: int
    memory_bytes: int


@dataclass
class _Sample:
    at: float
    cpu_s: float


class GroupMeter:
    """Measures a process group: RSS now, CPU rate over the last :data:`CPU_WINDOW_S` of samples."""

    def __init__(self, pgid: int, exclude: frozenset[int] = frozenset()) -> None:
        self.pgid = pgid
        self._exclude = exclude
        self._history: deque[_Sample] = deque()
        self.usage = ContainerUsage(0, 0)

    def sample(self, members: list[int]) -> ContainerUsage:
        """Take a measurement of ``members`` (the group's PIDs), remember it as :attr:`usage` and return it."""
        rss, cpu = 0, 0.0
        for pid in members:
            if pid in self._exclude:
                continue
            try:
                proc = psutil.Process(pid)
                with proc.oneshot():
                    rss += proc.memory_info().rss
                    times = proc.cpu_times()
                    cpu += times.user + times.system
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        now = time.monotonic()
        # Keep one sample older than the window so the rate always spans at least CPU_WINDOW_S once available.
        while len(self._history) > 1 and now - self._history[1].at >= CPU_WINDOW_S:
            self._history.popleft()
        nanocores = 0
        if self._history and now > self._history[0].at:
            oldest = self._history[0]
            nanocores = max(int((cpu - oldest.cpu_s) / (now - oldest.at) * 1e9), 0)
        self._history.append(_Sample(now, cpu))
        self.usage = ContainerUsage(nanocores, rss)
        return self.usage
