"""Runbook alert rules as checks: would the alert the runbook names have fired during the drill, and when?

:func:`evaluate_alert` translates an :class:`~drillbook.runbook.model.AlertTrigger` to PromQL
(:func:`~drillbook.slo.promql.alert_query`), reads it over the drill window with one ``query_range``, and replays
Prometheus's alerting rule semantics on the samples: the condition must hold on every evaluation for ``for``
before the alert fires; it clears on the first evaluation where it no longer holds (or the series is gone).

The result is an :class:`AlertEvaluation`. Its :attr:`~AlertEvaluation.finding` is the sentence a report shows
when the alert did not do its job; only :attr:`AlertOutcome.FIRED` is not a finding. A query with no samples is
:attr:`AlertOutcome.NO_DATA` — a finding, never a pass: an alert on a metric nobody exports pages no one.

API for the verdict (``drill/``)::

    evaluation = evaluate_alert(alert, prom, start=fault_at, end=recovered_at + 30)
    if evaluation.finding: ...           # str: "your alert would not have paged anyone: …"
    evaluation.fired_at, evaluation.cleared_at   # epoch seconds or None
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from drillbook.runbook.model import AlertTrigger
from drillbook.slo.promql import AlertQuery, PromQuery, Series, Untranslatable, alert_query

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}


class AlertOutcome(StrEnum):
    """What the alert rule did over the drill window."""

    FIRED = "fired"
    """The condition held for ``for`` at least once: it would have paged."""
    NEVER_FIRED = "never-fired"
    """Samples existed but the condition never held long enough: it would not have paged anyone."""
    NO_DATA = "no-data"
    """The expression returned no samples in the window: the alert watches nothing."""
    UNTRANSLATABLE = "untranslatable"
    """The runbook's words name no metric the sandbox has; nothing could be evaluated."""
    QUERY_FAILED = "query-failed"
    """Prometheus refused the expression (bad PromQL) or could not be reached."""


@dataclass(frozen=True)
class AlertEvaluation:
    """One alert rule judged over ``[start, end]`` (epoch seconds)."""

    alert: AlertTrigger
    outcome: AlertOutcome
    start: float
    end: float
    query: AlertQuery | None = None
    pending_at: float | None = None
    """When the condition first held (the alert went *pending*)."""
    fired_at: float | None = None
    """When it had held for ``for``: the moment it would have paged."""
    cleared_at: float | None = None
    """The first evaluation after firing where the condition no longer held (``None``: still firing at ``end``)."""
    longest_held_s: float = 0.0
    """The longest unbroken run of the condition, to compare with ``for`` when it never fired."""
    peak: float | None = None
    """The most extreme value seen, in the alert's unit (highest for ``>``/``>=``, lowest for ``<``/``<=``)."""
    detail: str = ""

    @property
    def finding(self) -> str | None:
        """What a report should say when the alert did not do its job; ``None`` when it fired."""
        name = self.alert.name or self.alert.text
        if self.outcome is AlertOutcome.FIRED:
            return None
        if self.outcome is AlertOutcome.NEVER_FIRED:
            assert self.query is not None
            rule = f"{self.query.condition}{f' for {self.query.for_seconds:g}s' if self.query.for_seconds else ''}"
            if self.pending_at is None:
                return (
                    f"your alert would not have paged anyone: {name!r} ({rule}) never held during the fault; "
                    f"its peak was {_fmt(self.peak)} {self.alert.unit}"
                )
            return (
                f"your alert would not have paged anyone during this outage: {name!r} ({rule}) held for at most "
                f"{self.longest_held_s:.0f}s (peak {_fmt(self.peak)} {self.alert.unit}), shorter than its 'for': "
                "an outage this long pages no one"
            )
        if self.outcome is AlertOutcome.NO_DATA:
            expr = self.query.value if self.query is not None else self.alert.metric
            return f"alert {name!r} watches nothing: {expr} returned no data in the sandbox's Prometheus"
        return f"alert {name!r} could not be checked: {self.detail}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def evaluate_alert(
    alert: AlertTrigger,
    prom: PromQuery,
    *,
    start: float,
    end: float,
    step_s: float = 1.0,
    for_scale: float = 1.0,
    rate_window_s: int | None = None,
) -> AlertEvaluation:
    """Judge one alert over ``[start, end]``.

    Args:
        alert: The rule as the runbook states it.
        prom: The sandbox's Prometheus.
        start: Epoch seconds, typically the fault's injection.
        end: Epoch seconds, typically some time after recovery (so clearing can be seen).
        step_s: Evaluation interval (the sandbox's Prometheus evaluates rules every second).
        for_scale: Multiplies the runbook's ``for`` (a drill on a compressed clock may shrink it); 1.0 keeps it.
        rate_window_s: Range of the ``rate()`` drillbook writes for prose alerts (default
            :data:`~drillbook.slo.promql.DEFAULT_RATE_WINDOW_S`).
    """
    try:
        query = alert_query(alert) if rate_window_s is None else alert_query(alert, rate_window_s=rate_window_s)
    except Untranslatable as exc:
        return AlertEvaluation(alert, AlertOutcome.UNTRANSLATABLE, start, end, detail=str(exc))
    if for_scale != 1.0:
        query = AlertQuery(query.value, query.op, query.threshold, query.for_seconds * for_scale, query.how)
    try:
        series = prom.query_range(query.value, start, end, step_s)
    except Exception as exc:  # the client's PromQLError, or any transport failure: reported, not raised
        return AlertEvaluation(alert, AlertOutcome.QUERY_FAILED, start, end, query, detail=str(exc))
    return replay(alert, query, series, start=start, end=end, step_s=step_s)


def replay(
    alert: AlertTrigger, query: AlertQuery, series: Sequence[Series], *, start: float, end: float, step_s: float
) -> AlertEvaluation:
    """Apply alerting-rule semantics to already fetched samples (a recorded series works as well as a live one).

    The alert holds at an evaluation when *any* series satisfies the condition (one alert per rule, as a
    pager sees it); a step with no sample does not hold and resets ``for``, as Prometheus drops a vanished series.
    """
    compare = _OPS[query.op]
    by_time: dict[float, list[float]] = {}
    for s in series:
        for t, v in s.samples:
            by_time.setdefault(round(t, 3), []).append(v)
    if not by_time:
        return AlertEvaluation(alert, AlertOutcome.NO_DATA, start, end, query, detail="no samples")
    high = query.op in (">", ">=", "==")
    values = [v for vs in by_time.values() for v in vs]
    peak = max(values) if high else min(values)
    steps = round((end - start) / step_s)
    pending: float | None = None
    first_pending: float | None = None
    fired: float | None = None
    cleared: float | None = None
    longest = 0.0
    for i in range(steps + 1):
        t = round(start + i * step_s, 3)
        holds = any(compare(v, query.threshold) for v in by_time.get(t, []))
        if holds:
            if pending is None:
                pending = t
            first_pending = first_pending if first_pending is not None else t
            longest = max(longest, t - pending)
            if fired is None and t - pending >= query.for_seconds:
                fired = t
        else:
            pending = None
            if fired is not None and cleared is None:
                cleared = t
    outcome = AlertOutcome.FIRED if fired is not None else AlertOutcome.NEVER_FIRED
    return AlertEvaluation(
        alert, outcome, start, end, query, first_pending, fired, cleared, longest, peak, detail=query.how
    )
