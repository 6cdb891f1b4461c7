"""The machine the sandbox runs on: was it out of CPU when the SLOs stayed breached?

A local or docker sandbox runs every replica, datastore and the traffic generator on one machine. When a runbook's
action asks for more than that machine has (``kubectl scale --replicas=20`` on 2 cores), the SLOs can stay breached
because drillbook's machine is saturated, not because the system or the runbook is wrong: on a real cluster the
new replicas would run on cores of their own. A drill whose SLOs were not restored while the machine's CPU was
saturated is therefore not failed but *inconclusive*, and the verdict says what the machine showed
(:attr:`drillbook.drill.verdict.Observations.host_saturated`).

The drill reads the machine's cumulative CPU time (``/proc/stat``: busy and total jiffies over all cores) at each
poll of its watch, on its stopwatch. Everything here but :class:`ProcStatCpu` is pure, so it is table-tested with
made-up readings.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SATURATED_AT = 0.85
"""Share of all cores busy, on average over the end of the watch, from which the machine counts as saturated."""


class HostCpu(Protocol):
    """The machine's cumulative CPU time."""

    def read(self) -> tuple[int, int] | None:
        """``(busy, total)`` jiffies summed over all cores since boot, or ``None`` when unknown."""


class ProcStatCpu:
    """Linux's ``/proc/stat`` (the first, all-cores line); ``None`` where there is none."""

    def __init__(self, path: Path = Path("/proc/stat")) -> None:
        self.path = path

    def read(self) -> tuple[int, int] | None:
        """Busy (all but idle and iowait) and total jiffies."""
        try:
            with self.path.open(encoding="ascii") as handle:
                fields = handle.readline().split()
        except OSError:
            return None
        if len(fields) < 5 or fields[0] != "cpu":
            return None
        try:
            values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
        except ValueError:
            return None
        idle = values[3] + values[4]
        total = sum(values)
        return total - idle, total


@dataclass(frozen=True)
class Saturation:
    """How busy the machine was over a stretch of the watch, against how busy it was in the baseline."""

    busy: float
    """Share of all cores busy over ``[start, end]``."""
    start: float
    end: float
    baseline: float | None
    """Share busy during the baseline, if it was read."""

    @property
    def saturated(self) -> bool:
        """At or past :data:`SATURATED_AT`."""
        return self.busy >= SATURATED_AT

    def describe(self, cores: int | None) -> str:
        """What the verdict says, e.g. ``the machine's 2 cores were 93% busy from t=40.1 s to the end of the watch at
        t=52.3 s (28% in the baseline)``."""
        where = f"the machine's {cores} cores were" if cores else "the machine's CPU was"
        before = f" ({self.baseline:.0%} in the baseline)" if self.baseline is not None else ""
        return (
            f"{where} {self.busy:.0%} busy from t={self.start:.1f} s to the end of the watch at t={self.end:.1f} s"
            f"{before}"
        )


class HostLoad:
    """The drill's readings of :class:`HostCpu`, on its stopwatch."""

    def __init__(self, cpu: HostCpu | None) -> None:
        self.cpu = cpu
        self._t: list[float] = []
        self._busy: list[int] = []
        self._total: list[int] = []

    def observe(self, t: float) -> None:
        """Read the machine now (stopwatch time ``t``); unknown readings are skipped."""
        reading = self.cpu.read() if self.cpu is not None else None
        if reading is None or (self._t and t <= self._t[-1]):
            return
        busy, total = reading
        self._t.append(t)
        self._busy.append(busy)
        self._total.append(total)

    def busy_between(self, start: float, end: float) -> float | None:
        """Share of all cores busy from the first reading at or after ``start`` to the last at or before ``end``
        (``None`` with fewer than two readings there, or no CPU time passed)."""
        first = bisect_left(self._t, start)
        last = bisect_left(self._t, end + 1e-9) - 1
        if last <= first:
            return None
        total = self._total[last] - self._total[first]
        if total <= 0:
            return None
        return (self._busy[last] - self._busy[first]) / total

    def saturation(self, start: float, end: float, baseline: tuple[float, float] | None) -> Saturation | None:
        """How busy the machine was over ``[start, end]`` (and in the ``baseline`` stretch), or ``None`` if unread."""
        busy = self.busy_between(start, end)
        if busy is None:
            return None
        before = self.busy_between(*baseline) if baseline is not None else None
        return Saturation(busy, start, end, before)
