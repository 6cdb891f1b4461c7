"""SLOs and alert rules as PromQL: the way teams define them, read against the sandbox's Prometheus.

Pure translation and arithmetic; the HTTP client lives in ``platform/prometheus`` and is handed in as a
:class:`PromQuery`.

* :func:`alert_query` turns a runbook's :class:`~drillbook.runbook.model.AlertTrigger` into a PromQL *value*
  expression in the alert's own unit (``http_errors_total > 5%`` → the 5xx share of ``http_requests_total`` in
  percent; ``rate(...) > x`` verbatim), or says why it cannot.
* :class:`PromqlWindows` computes a :class:`~drillbook.slo.stats.WindowStats` for a window ``(t_end - w, t_end]``
  from the stand-in's ``http_requests_total{status}`` and ``http_request_duration_seconds`` histogram, so the
  monitor can judge the same checks on Prometheus's numbers instead of the traffic records
  (``slo_source: prometheus``).

Where the two sources differ by construction: the records count a transport error (no HTTP answer) as an error,
which no server-side counter sees; latency from a histogram is interpolated inside a bucket, so it agrees with the
records' nearest-rank percentile only to within the bucket that holds it (:data:`LATENCY_BUCKETS_S`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from drillbook.runbook.model import AlertTrigger
from drillbook.slo.stats import WindowStats

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""The stand-in's ``http_request_duration_seconds`` buckets: the resolution of every PromQL latency."""

DEFAULT_RATE_WINDOW_S = 15
"""Range of the ``rate()`` drillbook writes for a prose alert ("error rate > 5%"): a runbook's usual ``[5m]``
scaled to a drill that lasts a minute or two, with 1 s scrapes (15 samples per window)."""


@dataclass(frozen=True)
class Series:
    """One time series of a query result: its labels and ``(epoch seconds, value)`` samples, oldest first."""

    labels: dict[str, str]
    samples: tuple[tuple[float, float], ...] = field(default_factory=tuple)


class PromQuery(Protocol):
    """What PromQL evaluation needs from a Prometheus."""

    def query(self, expr: str, at: float) -> list[Series]:
        """Instant query at epoch ``at``."""

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
        """Range query over ``[start, end]`` every ``step_s``."""


@dataclass(frozen=True)
class AlertQuery:
    """An alert rule in PromQL: ``value`` (in the alert's unit) compared with ``threshold`` by ``op``."""

    value: str
    op: str
    threshold: float
    for_seconds: float
    how: str
    """How the expression was derived from the runbook's words, for the report."""

    @property
    def condition(self) -> str:
        """The whole rule as a Prometheus alerting ``expr``."""
        return f"({self.value}) {self.op} {self.threshold:g}"


class Untranslatable(ValueError):
    """An alert whose metric names nothing the sandbox's Prometheus has; the message says what it would need."""


_PROMQL_SYNTAX = re.compile(r"[({\[]")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_WITHIN = re.compile(r"\b(?:in|within)\s+(?:the\s+last\s+)?\d+\s*(?:s|sec|seconds?|m|min|minutes?|h|hours?)\b", re.I)
_QUANTILE = re.compile(r"\bp(50|90|95|99)\b", re.IGNORECASE)


def _quantile(text: str, default: float = 0.95) -> float:
    match = _QUANTILE.search(text)
    return int(match.group(1)) / 100 if match else default


def _latency(metric_base: str, q: float, unit: str, window: str) -> str:
    scale = {"ms": " * 1000", "s": "", "": ""}.get(unit.strip().lower(), "")
    base = metric_base.removesuffix("_bucket")
    expr = f"histogram_quantile({q:g}, sum by (le) (rate({base}_bucket[{window}])))"
    if base.endswith("_ms"):
        scale = " / 1000" if unit.strip().lower() == "s" else ""
    return expr + scale


def _error_ratio(window: str) -> str:
    errors = f'sum(rate(http_requests_total{{status=~"5.."}}[{window}]))'
    return f"{errors} / sum(rate(http_requests_total[{window}])) * 100"


def alert_query(alert: AlertTrigger, *, rate_window_s: int = DEFAULT_RATE_WINDOW_S) -> AlertQuery:
    """The PromQL a runbook's alert stands for.

    Raises:
        Untranslatable: The metric is prose naming no metric the stand-in, the exporters or the container
            metrics provide (a restart count, WebSocket connections).
    """
    window = f"{rate_window_s}s"
    metric, unit, text = alert.metric.strip(), alert.unit.strip().lower(), alert.text
    for_seconds = alert.for_seconds or 0.0
    if _WITHIN.search(text) and alert.for_seconds:
        # "restart count > 5 in 10 minutes" counts over a window; it is not a condition held for 10 minutes.
        window, for_seconds = f"{int(alert.for_seconds)}s", 0.0
    value, how = _translate(metric, unit, text, window)
    return AlertQuery(value=value, op=str(alert.op), threshold=alert.threshold, for_seconds=for_seconds, how=how)


def _translate(metric: str, unit: str, text: str, window: str) -> tuple[str, str]:
    if _PROMQL_SYNTAX.search(metric):
        return metric, "the runbook's PromQL, verbatim"
    if _METRIC_NAME.match(metric):
        return _translate_name(metric, unit, text, window)
    words = metric.casefold()
    if "error" in words:
        return _error_ratio(window), "error rate: 5xx share of http_requests_total by status, in %"
    if "latency" in words or "response time" in words:
        q = _quantile(f"{metric} {text}")
        return (
            _latency("http_request_duration_seconds", q, unit or "ms", window),
            f"p{q * 100:g} of http_request_duration_seconds buckets, in {unit or 'ms'}",
        )
    if "memory" in words and unit == "%":
        return "max(nodejs_heap_used_percent)", "memory: the app's heap use in % of its limit"
    if "cpu" in words and unit == "%":
        return (
            f"max(rate(container_cpu_usage_seconds_total[{window}])) * 100",
            "CPU: container_cpu_usage_seconds_total rate in % of one core",
        )
    if "restart" in words:
        return (
            f"max(increase(kube_pod_container_status_restarts_total[{window}]))",
            f"restarts: the most any container restarted within {window} (kube_pod_container_status_restarts_total)",
        )
    if "database connection" in words or "db connection" in words:
        scale = " * 100" if unit == "%" else ""
        value = (
            'max(db_pool_connections{state="active"} / ignoring(state) db_pool_max)'
            if unit == "%"
            else 'max(db_pool_connections{state="active"})'
        )
        return value + scale, "database connections: the app's pool gauges (active of db_pool_max)"
    raise Untranslatable(
        f"{metric!r} names no metric the sandbox's Prometheus has; write the alert as PromQL or a metric name "
        '(e.g. `rate(http_requests_total{status=~"5.."}[5m])`) to have it checked'
    )


def _translate_name(metric: str, unit: str, text: str, window: str) -> tuple[str, str]:
    if metric.endswith("_total"):
        if unit == "%":
            if metric == "http_errors_total":
                return (
                    f"sum(rate(http_errors_total[{window}])) / sum(rate(http_requests_total[{window}])) * 100",
                    "http_errors_total as a share of http_requests_total, in %",
                )
            return _error_ratio(window), f"{metric} read as the 5xx share of http_requests_total, in %"
        per = {"per minute": " * 60", "per hour": " * 3600"}.get(unit, "")
        return f"sum(rate({metric}[{window}])){per}", f"rate of {metric}{' ' + unit if per else ' per second'}"
    if metric.endswith(("_seconds", "_ms", "_bucket")):
        q = _quantile(text)
        return _latency(metric, q, unit, window), f"p{q * 100:g} of {metric} buckets, in {unit or 's'}"
    return f"max({metric})", f"the gauge {metric} (highest series)"


# -- SLO windows ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromqlWindows:
    """Window statistics from Prometheus instead of request records (the monitor's ``window_source``).

    ``selector`` narrows every series to the requests users make (``job="app"``, without Prometheus's own scrapes
    of ``/metrics`` and the kubelet's readiness/liveness probes, which the stand-in counts like any request, as
    most services do, and which SLOs conventionally exclude); ``ok_status`` is a regex of the statuses the
    traffic records count as good (2xx/3xx), so both sources mean the same by "error".
    """

    prom: PromQuery
    selector: str = 'job="app",route!~"/metrics|.*/(ready|readyz|live|livez)"'
    ok_status: str = "[23].."

    def stats(self, t_end: float, window_s: float) -> WindowStats:
        """The window ``(t_end - window_s, t_end]`` as Prometheus saw it.

        A query that fails (Prometheus restarting, a timeout) gives an empty window: *no data*, which the
        monitor neither passes nor fails, never a made-up value.
        """
        try:
            return self._stats(t_end, window_s)
        except Exception:  # any transport or API failure of the handed-in client: no data, not a crash
            return WindowStats.of((), t_end=t_end, window_s=window_s)

    def _stats(self, t_end: float, window_s: float) -> WindowStats:
        w = f"{max(round(window_s), 1)}s"
        sel = self.selector
        requests = self._scalar(f"sum(increase(http_requests_total{{{sel}}}[{w}]))", t_end)
        bad = f'sum(increase(http_requests_total{{{sel},status!~"{self.ok_status}"}}[{w}]))'
        errors = self._scalar(bad, t_end) or 0.0
        count = requests or 0.0
        quantiles = {}
        for q in (0.5, 0.95, 0.99):
            value = self._scalar(
                f"histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket{{{sel}}}[{w}])))",
                t_end,
            )
            quantiles[q] = None if value is None or count <= 0 else value * 1000
        return WindowStats(
            t_end=t_end,
            window_s=window_s,
            requests=round(count),
            errors=round(errors),
            error_rate=errors / count if count > 0 else 0.0,
            p50_ms=quantiles[0.5],
            p95_ms=quantiles[0.95],
            p99_ms=quantiles[0.99],
            rps=count / window_s if window_s > 0 else 0.0,
        )

    def _scalar(self, expr: str, at: float) -> float | None:
        result = self.prom.query(expr, at)
        values = [s.samples[-1][1] for s in result if s.samples]
        return sum(values) if values else None
