"""Typed objectives a drill can measure from request traffic.

A :class:`Check` is one objective in canonical units, evaluated against a :class:`WindowStats`:

* ``error_rate`` and ``availability`` are **fractions** (``0.05`` means 5 %);
* ``latency_p50`` / ``latency_p95`` / ``latency_p99`` are **milliseconds**;
* ``throughput`` is **requests per second**.

A runbook latency without a percentile ("API response time > 100ms") is read as p95, the percentile SLOs
are usually written against. A latency objective counts a failed request as never served, slower than any
answer: when a window's percentile falls on its failed requests (more than 5 % failed, for p95), the value is
infinite and the check fails. A service that refuses every connection in 30 ms has not met "p95 < 500 ms".

Objectives about things request traffic cannot show (database query time, MTTR, CPU, memory, replication lag)
are kept as :class:`Unmeasurable` with the reason, so a report can say what the drill did *not* check instead
of silently dropping it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from drillbook.errors import ScenarioError
from drillbook.runbook.model import AlertTrigger, Comparison, Incident, Runbook, Slo
from drillbook.slo.stats import WindowStats, nearest_rank

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


class Metric(StrEnum):
    """What a check measures over a window of requests."""

    ERROR_RATE = "error_rate"
    LATENCY_P50 = "latency_p50"
    LATENCY_P95 = "latency_p95"
    LATENCY_P99 = "latency_p99"
    AVAILABILITY = "availability"
    THROUGHPUT = "throughput"


class CheckStatus(StrEnum):
    """The outcome of one check on one window."""

    OK = "ok"
    FAILING = "failing"
    NO_DATA = "no_data"
    """Fewer requests than the monitor's minimum: neither a pass nor a failure."""


# Runbook metric slugs → our metric; ``latency`` without a percentile is read as p95 (see module docstring).
_METRICS: dict[str, Metric] = {
    "error_rate": Metric.ERROR_RATE,
    "latency": Metric.LATENCY_P95,
    "latency_p50": Metric.LATENCY_P50,
    "latency_p95": Metric.LATENCY_P95,
    "latency_p99": Metric.LATENCY_P99,
    "availability": Metric.AVAILABILITY,
    "uptime": Metric.AVAILABILITY,
    "throughput": Metric.THROUGHPUT,
}

_FRACTION_METRICS = (Metric.ERROR_RATE, Metric.AVAILABILITY)
_LATENCY_METRICS = (Metric.LATENCY_P50, Metric.LATENCY_P95, Metric.LATENCY_P99)
_PERCENTILE = {Metric.LATENCY_P50: 50.0, Metric.LATENCY_P95: 95.0, Metric.LATENCY_P99: 99.0}

# Why a known-but-unmeasurable slug cannot be checked; anything else gets a generic reason.
_WHY_NOT: dict[str, str] = {
    "mttr": "MTTR is the drill's verdict, not an objective measured on request traffic",
    "cpu": "CPU usage is a resource metric, not visible in request traffic",
    "memory": "memory usage is a resource metric, not visible in request traffic",
    "replication_lag": "replication lag is a database metric, not visible in request traffic",
}


class NotMeasurable(ScenarioError):
    """An objective drillbook cannot measure from request traffic; ``reason`` says why."""

    def __init__(self, text: str, reason: str, *, path: Path | str | None = None, line: int | None = None) -> None:
        self.text = text
        self.reason = reason
        super().__init__(
            f"cannot check {text!r} from request traffic: {reason}; "
            "state an error-rate, latency (p50/p95/p99), availability or throughput objective instead",
            path=path,
            line=line,
        )


@dataclass(frozen=True)
class Unmeasurable:
    """An objective the drill does not check, and why."""

    text: str
    line: int
    metric: str
    reason: str


@dataclass(frozen=True)
class Check:
    """One objective in canonical units (see the module docstring); ``op`` states what *good* looks like."""

    metric: Metric
    op: Comparison
    threshold: float
    text: str = ""
    """The sentence it came from, for reports."""
    line: int = 0
    for_seconds: float | None = None
    """For a check built from an alert: how long the alert condition must last before it fires.

    The monitor breaches on the first failing window; this is the *alert delay* the MTTR projection adds.
    """

    @classmethod
    def from_slo(cls, slo: Slo) -> Check:
        """Build a check from a runbook SLO, or raise :class:`NotMeasurable` saying why it cannot be."""
        metric = _METRICS.get(slo.metric)
        if metric is None:
            raise NotMeasurable(slo.text, _reason_for(slo.metric), line=slo.line)
        threshold = _canonical(metric, slo)
        return cls(metric=metric, op=slo.op, threshold=threshold, text=slo.text, line=slo.line)

    @classmethod
    def from_alert(cls, alert: AlertTrigger) -> Check:
        """Build the *good side* of an alert ("> 5 % for 2 minutes" → ``error_rate < 5 %``, for 120 s)."""
        if alert.slo is None:
            raise NotMeasurable(
                alert.text,
                f"no objective could be derived from the alert metric {alert.metric!r}",
                line=alert.line,
            )
        check = cls.from_slo(alert.slo)
        return cls(
            metric=check.metric,
            op=check.op,
            threshold=check.threshold,
            text=alert.text,
            line=alert.line,
            for_seconds=alert.for_seconds,
        )

    def value(self, stats: WindowStats) -> float | None:
        """This check's metric on one window, in canonical units; ``None`` when the window has no requests."""
        if self.metric is Metric.THROUGHPUT:
            return stats.rps
        if stats.requests == 0:
            return None
        if self.metric is Metric.ERROR_RATE:
            return stats.error_rate
        if self.metric is Metric.AVAILABILITY:
            return 1.0 - stats.error_rate
        if _falls_on_failures(stats, _PERCENTILE[self.metric]):
            return math.inf
        if self.metric is Metric.LATENCY_P50:
            return stats.p50_ms
        if self.metric is Metric.LATENCY_P95:
            return stats.p95_ms
        return stats.p99_ms

    def holds_for(self, value: float) -> bool:
        """Whether a measured value (canonical units) is on the good side."""
        # Rounded so that 1 - 0.001 meets 99.9 / 100: percent-to-fraction arithmetic must not flip a verdict.
        return _COMPARE[self.op](round(value, 9), round(self.threshold, 9))

    def evaluate(self, stats: WindowStats, *, min_requests: int = 1) -> tuple[CheckStatus, float | None]:
        """Judge one window: ``NO_DATA`` below ``min_requests``, else ``OK`` or ``FAILING`` with the value."""
        value = self.value(stats)
        if stats.requests < max(min_requests, 1) or value is None:
            return CheckStatus.NO_DATA, value
        return (CheckStatus.OK if self.holds_for(value) else CheckStatus.FAILING), value

    def describe(self) -> str:
        """Short human form: ``error_rate < 5%``, ``latency_p95 < 500ms``."""
        if self.metric in _FRACTION_METRICS:
            return f"{self.metric} {self.op} {self.threshold * 100:g}%"
        if self.metric in _LATENCY_METRICS:
            return f"{self.metric} {self.op} {self.threshold:g}ms"
        return f"{self.metric} {self.op} {self.threshold:g}rps"

    def format_value(self, value: float | None) -> str:
        """A measured value in the same units :meth:`describe` uses."""
        if value is None:
            return "no data"
        if math.isinf(value) and self.metric in _LATENCY_METRICS:
            return "unserved (the percentile falls on failed requests)"
        if self.metric in _FRACTION_METRICS:
            return f"{value * 100:.2f}%"
        if self.metric in _LATENCY_METRICS:
            return f"{value:.1f}ms"
        return f"{value:.1f}rps"


def _falls_on_failures(stats: WindowStats, pct: float) -> bool:
    """Whether the nearest-rank ``pct`` percentile lands on a failed request, failures ranked after every answer."""
    return stats.errors > stats.requests - nearest_rank(pct, stats.requests)


@dataclass(frozen=True)
class CheckPlan:
    """What a drill checks for one incident, and what it cannot check (with reasons)."""

    checks: tuple[Check, ...]
    not_measurable: tuple[Unmeasurable, ...]


def checks_for_incident(incident: Incident, runbook: Runbook) -> CheckPlan:
    """The incident's SLOs and alert objectives; the document's SLOs when the incident gives none we can measure."""
    checks: list[Check] = []
    skipped: list[Unmeasurable] = []
    _collect(((slo, None) for slo in incident.slos), checks, skipped)
    _collect(((None, alert) for alert in incident.alerts), checks, skipped)
    if not checks:
        _collect(((slo, None) for slo in runbook.slos), checks, skipped)
    return CheckPlan(checks=tuple(_dedupe(checks)), not_measurable=tuple(skipped))


def check_from_text(text: str, *, path: Path | str | None = None, line: int = 0) -> Check:
    """A check from a drill-stated objective such as ``"error rate < 1%"`` or ``"p95 latency below 500ms"``.

    Raises:
        ScenarioError: the text is not an objective, or not one request traffic can measure.
    """
    from drillbook.runbook.slos import parse_slo_text

    slo = parse_slo_text(text, line=line)
    if slo is None:
        raise ScenarioError(
            f"expected an SLO such as 'error rate < 1%' or 'p95 latency < 500ms', got {text!r}; "
            "state the metric, a comparison and a threshold with its unit",
            path=path,
            line=line or None,
        )
    try:
        return Check.from_slo(slo)
    except NotMeasurable as exc:
        raise NotMeasurable(text, exc.reason, path=path, line=line or None) from exc


def _collect(
    sources: Iterable[tuple[Slo | None, AlertTrigger | None]], checks: list[Check], skipped: list[Unmeasurable]
) -> None:
    for slo, alert in sources:
        try:
            if slo is not None:
                checks.append(Check.from_slo(slo))
            elif alert is not None:
                checks.append(Check.from_alert(alert))
        except NotMeasurable as exc:
            metric = slo.metric if slo is not None else (alert.slo.metric if alert and alert.slo else "")
            line = slo.line if slo is not None else (alert.line if alert else 0)
            skipped.append(Unmeasurable(text=exc.text, line=line, metric=metric, reason=exc.reason))


def _dedupe(checks: list[Check]) -> list[Check]:
    """Keep the first of checks that judge the same thing (an alert often restates an SLO)."""
    seen: set[tuple[Metric, str, float]] = set()
    kept: list[Check] = []
    for check in checks:
        key = (check.metric, check.op, round(check.threshold, 9))
        if key not in seen:
            seen.add(key)
            kept.append(check)
    return kept


def _canonical(metric: Metric, slo: Slo) -> float:
    unit = slo.unit.strip().lower()
    if metric in _FRACTION_METRICS:
        if unit in {"%", "percent"}:
            return slo.threshold / 100.0
        if unit in {"", "fraction", "ratio"}:
            return slo.threshold if slo.threshold <= 1.0 else slo.threshold / 100.0
    elif metric in _LATENCY_METRICS:
        scale = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "seconds": 1000.0, "us": 0.001, "µs": 0.001}.get(unit)
        if scale is not None:
            return slo.threshold * scale
    elif unit in {"rps", "req/s", "requests/s", "/s"}:
        return slo.threshold
    elif unit in {"rpm", "req/min", "/min"}:
        return slo.threshold / 60.0
    raise NotMeasurable(slo.text, f"unit {slo.unit!r} is not one drillbook understands for {metric}", line=slo.line)


def _reason_for(metric: str) -> str:
    if metric in _WHY_NOT:
        return _WHY_NOT[metric]
    if metric.startswith("db_") or "database" in metric or "query" in metric:
        return f"{metric} is a database-side metric, not visible in the service's request traffic"
    return f"{metric!r} is not a request-traffic metric (error_rate, latency_p50/p95/p99, availability, throughput)"
