"""Runbook alert rules as checks: would the alert the runbook names have fired during the drill, and when?

:func:`evaluate_alert` translates an :class:`~drillbook.runbook.model.AlertTrigger` to PromQL
(:func:`~drillbook.slo.promql.alert_query`), reads it over the drill window with one ``query_range``, and replays
Prometheus's alerting rule semantics on the samples: the condition must hold on every evaluation for ``for``
before the alert fires; it clears on the first evaluation where it no longer holds (or the series is gone).

The result is an :class:`AlertEvaluation`. Its :attr:`~AlertEvaluation.finding` is the sentence a report shows
when the alert did not do its job; only :attr:`AlertOutcome.FIRED` is not a finding. A query with no samples is
:attr:`AlertOutcome.NO_DATA` — a finding, never a pass: an alert on a metric nobody exports pages no one.

The drill also loads each translatable alert into the sandbox's Prometheus as a real alerting rule
(:func:`alert_rules` gives the rule file's entries); :func:`evaluate_alert` given the rule's name then reads
Prometheus's own ``ALERTS{alertname=…}`` series for the pending/firing times, and keeps the replay only for what
``ALERTS`` cannot say (no data, the peak, how long the condition held when it never fired).

API for the verdict (``drill/``)::

    rules = alert_rules(incident.alerts)              # AlertRule per translatable alert: name, expr, for
    evaluation = evaluate_alert(alert, prom, start=fault_at, end=recovered_at + 30, rule=rules[0].name)
    if evaluation.finding: ...           # str: "'HighErrorRate' (…) held for at most 39s …, shorter than its 'for'…"
    evaluation.fired_at, evaluation.cleared_at   # epoch seconds or None
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from drillbook.runbook.model import AlertTrigger
from drillbook.slo.promql import AlertQuery, PromQuery, Series, Untranslatable, alert_query

__all__ = [
    "AlertEvaluation",
    "AlertOutcome",
    "AlertRule",
    "alert_rules",
    "evaluate_alert",
    "from_alerts_series",
    "replay",
    "rule_name",
]

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
    rule: str = ""
    """The alerting rule in the sandbox's Prometheus the times come from; empty when the drill replayed it."""

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
                    f"{name!r} ({rule}) never held during the drill's fault "
                    f"(peak {_fmt(self.peak)} {self.alert.unit}): in this drill it would not have paged anyone; "
                    "the fault may not be the one this alert watches"
                )
            return (
                f"{name!r} ({rule}) held for at most {self.longest_held_s:.0f}s (peak {_fmt(self.peak)} "
                f"{self.alert.unit}), shorter than its 'for': this drill's outage was too short for it, so it would "
                "not have paged anyone"
            )
        if self.outcome is AlertOutcome.NO_DATA:
            expr = self.query.value if self.query is not None else self.alert.metric
            return f"alert {name!r} watches nothing: {expr} returned no data in the sandbox's Prometheus"
        return f"alert {name!r} could not be checked: {self.detail}"


@dataclass(frozen=True)
class AlertRule:
    """One runbook alert as a Prometheus alerting rule: ``name`` is the rule's ``alert:`` (a label-safe form of the
    runbook's name, unique per drill), ``query`` its condition and ``for``."""

    name: str
    alert: AlertTrigger
    query: AlertQuery

    def entry(self) -> dict[str, object]:
        """The rule as one entry of a rule file's ``rules:`` list."""
        entry: dict[str, object] = {"alert": self.name, "expr": self.query.condition}
        if self.query.for_seconds > 0:
            entry["for"] = f"{round(self.query.for_seconds * 1000)}ms"
        entry["labels"] = {"source": "runbook"}
        entry["annotations"] = {"runbook_text": self.alert.text, "how": self.query.how}
        return entry


_NOT_LABEL = re.compile(r"[^A-Za-z0-9_]+")


def rule_name(alert: AlertTrigger, taken: Iterable[str] = ()) -> str:
    """A name Prometheus accepts for the alert (``P2: High Error Rate (> 0.1%)`` → ``P2_High_Error_Rate_0_1``)."""
    base = _NOT_LABEL.sub("_", alert.name or alert.metric).strip("_") or "RunbookAlert"
    if base[0].isdigit():
        base = f"Alert_{base}"
    used = set(taken)
    name, n = base, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    return name


def alert_rules(
    alerts: Sequence[AlertTrigger], *, rate_window_s: int | None = None
) -> tuple[list[AlertRule], list[AlertTrigger]]:
    """The alerts drillbook can honestly write as PromQL, as rules; and those it cannot (judged untranslatable)."""
    rules: list[AlertRule] = []
    skipped: list[AlertTrigger] = []
    for alert in alerts:
        try:
            query = alert_query(alert) if rate_window_s is None else alert_query(alert, rate_window_s=rate_window_s)
        except Untranslatable:
            skipped.append(alert)
            continue
        rules.append(AlertRule(rule_name(alert, (r.name for r in rules)), alert, query))
    return rules, skipped


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
    rule: str | None = None,
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
        rule: The name of the alerting rule the drill loaded into this Prometheus for ``alert``: its pending and
            firing times are then Prometheus's own (``ALERTS``), not the replay's.
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
    replayed = replay(alert, query, series, start=start, end=end, step_s=step_s)
    if rule is None or replayed.outcome is AlertOutcome.NO_DATA:
        return replayed
    try:
        active = prom.query_range(f'ALERTS{{alertname="{rule}"}}', start, end, step_s)
    except Exception as exc:  # the rule's own series could not be read: the replay stands, and says so
        return dataclasses.replace(replayed, detail=f"{replayed.detail}; replayed (ALERTS unreadable: {exc})")
    return from_alerts_series(replayed, active, step_s=step_s, rule=rule)


def from_alerts_series(
    replayed: AlertEvaluation, active: Sequence[Series], *, step_s: float, rule: str
) -> AlertEvaluation:
    """The evaluation with pending/firing/cleared taken from Prometheus's ``ALERTS`` series of the rule.

    ``ALERTS`` has one series per ``alertstate`` (``pending``, ``firing``) with a sample at every evaluation the
    alert was in that state. It fired at its first *firing* sample and cleared at the first evaluation after that
    with no firing sample (``None`` when it was still firing at the window's end).
    """
    pending = sorted(t for s in active if s.labels.get("alertstate") == "pending" for t, _v in s.samples)
    firing = sorted(t for s in active if s.labels.get("alertstate") == "firing" for t, _v in s.samples)
    fired = firing[0] if firing else None
    cleared: float | None = None
    if fired is not None:
        previous = fired
        for t in firing[1:]:
            if t - previous > step_s * 1.5:
                break
            previous = t
        after = round(previous + step_s, 3)
        cleared = after if after <= replayed.end else None
    first_pending = min([*pending[:1], *firing[:1]], default=None)
    outcome = AlertOutcome.FIRED if fired is not None else AlertOutcome.NEVER_FIRED
    return dataclasses.replace(
        replayed,
        outcome=outcome,
        pending_at=first_pending if first_pending is not None else replayed.pending_at,
        fired_at=fired,
        cleared_at=cleared,
        detail=f"{replayed.detail}; Prometheus alerting rule {rule}",
        rule=rule,
    )


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
