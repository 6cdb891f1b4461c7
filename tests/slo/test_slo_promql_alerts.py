"""Runbook alert rules in PromQL: translation from the runbook's words, and alerting-rule semantics replayed on a
recorded series (fired-at, cleared-at, ``for``, no data)."""

from __future__ import annotations

import pytest

from drillbook.runbook.model import AlertTrigger
from drillbook.slo.alerts import AlertOutcome, alert_rules, evaluate_alert, from_alerts_series, replay, rule_name
from drillbook.slo.promql import PromqlWindows, Series, Untranslatable, alert_query


def _alert(metric: str, threshold: float, unit: str, for_seconds: float | None = None, text: str = "") -> AlertTrigger:
    return AlertTrigger(
        name="A", metric=metric, op=">", threshold=threshold, unit=unit, for_seconds=for_seconds,
        text=text or f"{metric} > {threshold:g}{unit}", line=1,
    )  # fmt: skip


def test_an_errors_counter_in_percent_becomes_its_share_of_all_requests() -> None:
    query = alert_query(_alert("http_errors_total", 5, "%", 120), rate_window_s=30)
    assert query.value == "sum(rate(http_errors_total[30s])) / sum(rate(http_requests_total[30s])) * 100"
    assert query.condition.endswith("> 5")
    assert query.for_seconds == 120


def test_a_prose_error_rate_becomes_the_5xx_share_by_status() -> None:
    query = alert_query(_alert("Error rate", 5, "%", 300), rate_window_s=15)
    assert 'http_requests_total{status=~"5.."}[15s]' in query.value
    assert query.value.endswith("/ sum(rate(http_requests_total[15s])) * 100")


def test_promql_in_the_runbook_is_used_verbatim() -> None:
    expr = 'rate(http_requests_total{status=~"5.."}[5m])'
    assert alert_query(_alert(expr, 0.1, "")).value == expr


def test_a_latency_percentile_in_ms_reads_the_seconds_histogram_times_1000() -> None:
    query = alert_query(_alert("db_query_duration_seconds", 100, "ms", text="P95 > 100ms"), rate_window_s=15)
    assert query.value == ("histogram_quantile(0.95, sum by (le) (rate(db_query_duration_seconds_bucket[15s]))) * 1000")
    prose = alert_query(_alert("P95 latency", 3, "s"), rate_window_s=15)
    assert prose.value == "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[15s])))"


def test_a_counter_per_minute_is_a_rate_times_60() -> None:
    assert alert_query(_alert("rate_limit_exceeded_total", 100, "per minute"), rate_window_s=15).value == (
        "sum(rate(rate_limit_exceeded_total[15s])) * 60"
    )


def test_prose_naming_no_metric_the_sandbox_has_is_untranslatable() -> None:
    with pytest.raises(Untranslatable, match="names no metric"):
        alert_query(_alert("WebSocket Connections", 10000, ""))


def _series(start: float, values: list[float | None]) -> list[Series]:
    samples = tuple((start + i, v) for i, v in enumerate(values) if v is not None)
    return [Series(labels={}, samples=samples)]


def test_the_alert_fires_after_holding_for_its_for_and_clears_on_the_first_good_evaluation() -> None:
    alert = _alert("http_errors_total", 5, "%", 3)
    query = alert_query(alert)
    values: list[float | None] = [0, 0, 10, 12, 11, 15, 14, 1, 0, 0]
    result = replay(alert, query, _series(1000.0, values), start=1000.0, end=1009.0, step_s=1.0)
    assert result.outcome is AlertOutcome.FIRED
    assert (result.pending_at, result.fired_at, result.cleared_at) == (1002.0, 1005.0, 1007.0)
    assert result.peak == 15
    assert result.finding is None


def test_a_condition_shorter_than_for_never_fires_and_says_nobody_was_paged() -> None:
    alert = _alert("http_errors_total", 5, "%", 5)
    values: list[float | None] = [0, 10, 10, 10, 0, 10, 10, 0]
    result = replay(alert, alert_query(alert), _series(0.0, values), start=0.0, end=7.0, step_s=1.0)
    assert result.outcome is AlertOutcome.NEVER_FIRED
    assert result.fired_at is None
    assert result.longest_held_s == 2
    assert result.finding is not None
    assert "would not have paged anyone" in result.finding


def test_a_missing_sample_resets_for_as_a_vanished_series_does() -> None:
    alert = _alert("http_errors_total", 5, "%", 2)
    values: list[float | None] = [10, 10, None, 10, 10, 10]
    result = replay(alert, alert_query(alert), _series(0.0, values), start=0.0, end=5.0, step_s=1.0)
    assert (result.pending_at, result.fired_at) == (0.0, 5.0)


class _Recorded:
    def __init__(self, series: list[Series]) -> None:
        self.series = series
        self.asked: list[str] = []

    def query(self, expr: str, at: float) -> list[Series]:
        self.asked.append(expr)
        return [Series(s.labels, tuple(p for p in s.samples if p[0] <= at)[-1:]) for s in self.series]

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
        self.asked.append(expr)
        return self.series


def test_no_data_is_a_finding_never_a_pass() -> None:
    result = evaluate_alert(_alert("http_errors_total", 5, "%", 120), _Recorded([]), start=0.0, end=60.0)
    assert result.outcome is AlertOutcome.NO_DATA
    assert result.finding is not None
    assert "returned no data" in result.finding


def test_an_untranslatable_alert_is_reported_not_raised() -> None:
    result = evaluate_alert(_alert("WebSocket Connections", 10000, ""), _Recorded([]), start=0.0, end=60.0)
    assert result.outcome is AlertOutcome.UNTRANSLATABLE
    assert result.finding is not None
    assert "could not be checked" in result.finding


def test_promql_windows_count_non_2xx_3xx_as_errors_and_report_latency_in_ms() -> None:
    class Prom:
        def query(self, expr: str, at: float) -> list[Series]:
            if expr.startswith("histogram_quantile"):
                return [Series({}, ((at, 0.2),))]
            value = 10.0 if 'status!~"[23].."' in expr else 100.0
            return [Series({}, ((at, value),))]

        def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
            raise AssertionError("not used")

    stats = PromqlWindows(Prom()).stats(50.0, 5.0)
    assert (stats.requests, stats.errors, stats.error_rate, stats.p95_ms, stats.rps) == (100, 10, 0.1, 200.0, 20.0)


def test_promql_windows_without_answers_are_no_data() -> None:
    class Down:
        def query(self, expr: str, at: float) -> list[Series]:
            raise OSError("connection refused")

        def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
            raise OSError("connection refused")

    stats = PromqlWindows(Down()).stats(50.0, 5.0)
    assert stats.requests == 0
    assert stats.p95_ms is None


def test_a_count_in_a_time_window_is_an_increase_over_that_window_not_a_for() -> None:
    alert = _alert("Pod restart count", 5, "", 600, text="Pod restart count > 5 in 10 minutes")
    query = alert_query(alert)
    assert query.value == "max(increase(kube_pod_container_status_restarts_total[600s]))"
    assert query.for_seconds == 0


# -- alerting rules in the sandbox's Prometheus ---------------------------------------------------------------


def test_each_translatable_alert_becomes_a_rule_with_a_name_prometheus_accepts() -> None:
    alerts = [
        AlertTrigger("P2: High Error Rate (> 0.1%)", "Error rate", ">", 0.1, "%", None, "High Error Rate (> 0.1%)", 3),
        AlertTrigger("5xx burn", "Error rate", ">", 5, "%", 300, "Error rate > 5% for 5 minutes", 4),
        _alert("WebSocket Connections", 10_000, ""),
    ]
    rules, skipped = alert_rules(alerts)
    assert [r.name for r in rules] == ["P2_High_Error_Rate_0_1", "Alert_5xx_burn"]
    assert skipped == [alerts[2]]
    entry = rules[1].entry()
    assert entry["alert"] == "Alert_5xx_burn"
    assert entry["expr"] == rules[1].query.condition
    assert entry["for"] == "300000ms"
    assert "for" not in rules[0].entry()
    assert rule_name(alerts[1], taken=["Alert_5xx_burn"]) == "Alert_5xx_burn_2"


def test_prometheus_alerts_series_gives_pending_firing_and_the_first_evaluation_without_firing() -> None:
    alert = _alert("http_errors_total", 5, "%", 2)
    query = alert_query(alert)
    values = [Series({}, tuple((float(t), 50.0 if 3 <= t < 9 else 0.0) for t in range(15)))]
    replayed = replay(alert, query, values, start=0, end=14, step_s=1)
    active = [
        Series({"alertstate": "pending"}, ((3.0, 1.0), (4.0, 1.0))),
        Series({"alertstate": "firing"}, tuple((float(t), 1.0) for t in range(5, 10))),
    ]
    judged = from_alerts_series(replayed, active, step_s=1, rule="A")
    assert judged.outcome is AlertOutcome.FIRED
    assert (judged.pending_at, judged.fired_at, judged.cleared_at) == (3.0, 5.0, 10.0)
    assert judged.rule == "A"
    assert "Prometheus alerting rule A" in judged.detail
    still = from_alerts_series(
        replayed, [Series({"alertstate": "firing"}, ((13.0, 1.0), (14.0, 1.0)))], step_s=1, rule="A"
    )
    assert still.cleared_at is None
    never = from_alerts_series(replayed, [Series({"alertstate": "pending"}, ((3.0, 1.0),))], step_s=1, rule="A")
    assert never.outcome is AlertOutcome.NEVER_FIRED
    assert never.finding is not None
    assert never.longest_held_s == replayed.longest_held_s
