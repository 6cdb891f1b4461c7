"""Which action restored service, which actions did nothing, and how clearly the fault breached.

Pure functions over a drill's SLO samples (one per monitor window, on the drill's stopwatch) and the actions
it ran. *Severity* puts every check on one scale: 1.0 is the threshold, 2.0 is twice past it (an error rate
of 2 % against ``< 1 %``, a p95 of 600 ms against ``< 300 ms``, 0.2 % unavailability against ``>= 99.9 %``).

Attribution. The restore is credited to the last action that ended before the SLO trend *turned* for good: the
last window at the top of the final, uninterrupted descent into the restore that then held. An action that
ended after the turn cannot have caused it; prose and diagnostics are never actions. When no action ended
before the turn, the restore is *not attributable*.

No effect. An action after which the SLOs stayed breached and did not improve by a tenth over every window
that lies wholly after it (up to the next action or the watch's end) had no observable effect. Actions whose
following interval is shorter than one window cannot be told apart from the next one and are not judged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from drillbook.slo.checks import Check, Metric

_RISE = 1.02
"""A window counts as higher than the next only by more than 2 %: noise on a plateau is not a turn."""
_MOVED = 0.9
"""An action moved the SLOs when some later window is at least 10 % less severe."""


def severity(check: Check, value: float | None) -> float | None:
    """How far ``value`` is from good, in thresholds (1.0 = at the threshold, above 1 = breached)."""
    if value is None or math.isnan(value):
        return None
    if check.op in ("<", "<="):
        if check.threshold <= 0:
            return math.inf if value > 0 else 0.0
        return value / check.threshold
    if check.op in (">", ">="):
        if check.metric is Metric.AVAILABILITY and check.threshold < 1.0:
            return (1.0 - value) / (1.0 - check.threshold)
        if value <= 0:
            return math.inf
        return check.threshold / value
    return 0.0 if check.holds_for(value) else math.inf


@dataclass(frozen=True)
class Sample:
    """The worst severity over the drill's checks on one window; ``None`` when the window had no data."""

    t: float
    severity: float | None
    failing: bool = False
    """Some check failed on this window."""


@dataclass(frozen=True)
class Action:
    """An action that ran successfully, and when it ended."""

    step: int
    title: str
    command: str
    ended: float
    supplied: bool = False


@dataclass(frozen=True)
class Attribution:
    """The credited action (or none, with why) and the actions with no observable effect."""

    action: Action | None
    text: str
    no_effect: tuple[Action, ...] = ()


def attribute(
    samples: Sequence[Sample],
    actions: Sequence[Action],
    restore_t: float | None,
    *,
    window_s: float,
    tick_s: float,
    watch_end_t: float,
) -> Attribution:
    """Credit the restore (at ``restore_t``, ``None`` when not restored) and find actions with no effect."""
    ordered = sorted(actions, key=lambda a: a.ended)
    no_effect = _no_effect(samples, ordered, restore_t, window_s=window_s, watch_end_t=watch_end_t)
    if restore_t is None:
        return Attribution(None, "not restored", no_effect)
    turn = turning_point(samples, restore_t)
    if turn is None:
        return Attribution(None, "not attributable: no breached window before the restore", no_effect)
    before = [a for a in ordered if a.ended <= turn + tick_s]
    if not before:
        return Attribution(
            None, f"not attributable: the SLOs turned at t={turn:.1f} s, before any action ended", no_effect
        )
    credited = before[-1]
    supplied = ", supplied by the drill" if credited.supplied else ""
    text = (
        f"step {credited.step} ({credited.title}{supplied}): the SLOs turned at t={turn:.1f} s, "
        f"{max(0.0, turn - credited.ended):.1f} s after it ended, and held"
    )
    close = [a for a in before[:-1] if credited.ended - a.ended < window_s and a.step != credited.step]
    if close:
        others = ", ".join(f"step {a.step} ({a.title})" for a in close)
        text += (
            f"; {others} ended less than one {window_s:g} s window before it, so their effects cannot be told "
            "apart: the credit is the later action's by rule"
        )
    return Attribution(credited, text, tuple(a for a in no_effect if a != credited))


def turning_point(samples: Sequence[Sample], restore_t: float) -> float | None:
    """The last window at the top of the final descent into the restore, or ``None`` without a bad window."""
    before = [s for s in samples if s.t < restore_t and s.severity is not None]
    if not before:
        return None
    i = len(before) - 1
    while i > 0:
        here, earlier = before[i].severity, before[i - 1].severity
        assert here is not None
        assert earlier is not None
        if earlier > here * _RISE:
            i -= 1
            continue
        break
    top = before[i]
    if top.severity is not None and top.severity <= 1.0 and not top.failing:
        # The descent starts at a good window: the turn is the last failing window before the restore.
        failing = [s for s in before if s.failing]
        return failing[-1].t if failing else None
    return top.t


def _no_effect(
    samples: Sequence[Sample],
    actions: Sequence[Action],
    restore_t: float | None,
    *,
    window_s: float,
    watch_end_t: float,
) -> tuple[Action, ...]:
    found: list[Action] = []
    for index, action in enumerate(actions):
        if restore_t is not None and action.ended >= restore_t:
            continue  # already restored: nothing left to move
        until = actions[index + 1].ended if index + 1 < len(actions) else watch_end_t
        if restore_t is not None:
            until = min(until, restore_t)
        at = [s for s in samples if s.t <= action.ended and s.severity is not None]
        after = [s for s in samples if action.ended + window_s <= s.t <= until and s.severity is not None]
        if not at or not after:
            continue
        start = at[-1].severity
        assert start is not None
        if start <= 1.0:
            continue
        if all(s.severity is not None and s.severity >= start * _MOVED and s.failing for s in after):
            found.append(action)
    return tuple(found)


def breach_margin(samples: Sequence[Sample]) -> tuple[float, float]:
    """The worst severity and the share of windows (with data) that failed, over ``samples``."""
    seen = [s for s in samples if s.severity is not None]
    if not seen:
        return 0.0, 0.0
    worst = max(s.severity for s in seen if s.severity is not None)
    return worst, sum(1 for s in seen if s.failing) / len(seen)


def longest_relapse_gap(samples: Sequence[Sample]) -> float:
    """The longest run of good windows between two failing ones: a flapping signal's quiet gap.

    The healthy stretch from the fault to its first failing window is the fault's onset, not a lull between
    failures: a leak that takes 10 s to drain the pool does not flap, and counting its onset would ask a restore to
    hold twice as long as the onset took, a race against the leak's next drain rather than a measure of flapping.
    """
    longest = 0.0
    ok_since: float | None = None
    failed_before = False
    for sample in samples:
        if sample.failing:
            if ok_since is not None and failed_before:
                longest = max(longest, sample.t - ok_since)
            ok_since = None
            failed_before = True
        elif sample.severity is None:
            ok_since = None
        elif ok_since is None:
            ok_since = sample.t
    return longest
