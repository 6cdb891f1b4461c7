"""How firmly a fault breached an SLO: the margin of its worst window and whether the breach held steadily.

A fault must breach clearly (by default its worst window at least :data:`MIN_FACTOR` times past the threshold) and
steadily (no run of good windows as long as a restore's hold, from the first failing window until the fault is
reverted or remedied). Anything less is *weak*: a do-nothing response could pass or fail by timing, so the verdict
side reports it instead of judging it silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from drillbook.slo.checks import Check, CheckStatus, Metric
from drillbook.slo.stats import WindowStats

MIN_FACTOR = 2.0
"""The worst window must be this many times past the threshold (error rate 2 % against < 1 %)."""


@dataclass(frozen=True)
class BreachMargin:
    """One check's breach over the windows of a fault."""

    check: Check
    worst: float | None
    """The worst value seen (canonical units), ``None`` when no window had data."""
    factor: float
    """How many times past the threshold the worst window went: 1.0 is at the threshold, 0.0 never breached."""
    failing_windows: int
    """Windows with data that failed, counted from the first failing one."""
    windows: int
    """Windows with data, counted from the first failing one."""
    longest_ok_s: float
    """The longest run of good windows after the first failing one, in seconds: a quiet gap in the breach."""
    hold_s: float
    """The hold a restore needs; a gap this long would have counted as a restore."""
    min_factor: float = MIN_FACTOR

    @property
    def breached(self) -> bool:
        """Whether any window failed."""
        return self.failing_windows > 0

    @property
    def steady(self) -> bool:
        """Breached, and no quiet gap as long as the hold."""
        return self.breached and self.longest_ok_s < self.hold_s

    @property
    def weak(self) -> bool:
        """Breached, but too close to the threshold or with gaps long enough to look like a restore."""
        return self.breached and (self.factor < self.min_factor or not self.steady)

    def describe(self) -> str:
        """One line for reports and test failures."""
        if not self.breached:
            return f"{self.check.describe()}: never breached (worst {self.check.format_value(self.worst)})"
        verdict = "weak" if self.weak else "firm"
        return (
            f"{self.check.describe()}: {verdict} breach, worst {self.check.format_value(self.worst)} "
            f"({_times(self.factor)} the threshold, {self.min_factor:g}x needed), "
            f"{self.failing_windows}/{self.windows} windows failing, "
            f"longest good run {self.longest_ok_s:.1f}s (hold {self.hold_s:g}s)"
        )


def _times(factor: float) -> str:
    return "unboundedly past" if math.isinf(factor) else f"{factor:.1f}x"


def factor_past(check: Check, value: float) -> float:
    """How many times past ``check``'s threshold ``value`` is, in the direction that is bad for it.

    For fractions with a ``>=`` objective (availability ≥ 99.9 %), the margin is of the budget: 99 % available is
    10x the 0.1 % allowed to fail.
    """
    if check.holds_for(value):
        return 0.0
    if check.op in ("<", "<="):
        return math.inf if check.threshold <= 0 else value / check.threshold
    if check.metric is Metric.AVAILABILITY:
        budget = 1.0 - check.threshold
        return math.inf if budget <= 0 else (1.0 - value) / budget
    return math.inf if value <= 0 else check.threshold / value


def measure(
    check: Check,
    windows: Sequence[WindowStats],
    *,
    hold_s: float,
    min_requests: int = 5,
    min_factor: float = MIN_FACTOR,
) -> BreachMargin:
    """The margin and steadiness of ``check``'s breach over ``windows`` (oldest first, evenly ticked).

    Pass the windows from the injection until the revert or remedy: good windows before the first failing one are
    the fault's onset, not a gap.
    """
    worst: float | None = None
    failing = counted = 0
    longest_ok = 0.0
    ok_since: float | None = None
    started = False
    for stats in windows:
        status, value = check.evaluate(stats, min_requests=min_requests)
        if status is CheckStatus.NO_DATA or value is None:
            continue
        if worst is None or _worse(check, value, worst):
            worst = value
        if status is CheckStatus.FAILING:
            started = True
            failing += 1
            counted += 1
            ok_since = None
            continue
        if not started:
            continue
        counted += 1
        if ok_since is None:
            ok_since = stats.t_end  # as the monitor counts a hold: from the first good window's end
        longest_ok = max(longest_ok, stats.t_end - ok_since)
    factor = 0.0 if worst is None else factor_past(check, worst)
    return BreachMargin(check, worst, factor, failing, counted, longest_ok, hold_s, min_factor)


def _worse(check: Check, value: float, than: float) -> bool:
    """Whether ``value`` is further on the bad side of ``check`` than ``than``."""
    return value > than if check.op in ("<", "<=") else value < than
