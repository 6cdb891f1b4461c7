"""Checks: canonical units, the good side of alerts, and which objectives are not measurable."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from drillbook.errors import ScenarioError
from drillbook.runbook.model import AlertTrigger, Incident, Runbook, Slo
from drillbook.slo import Check, CheckStatus, Metric, NotMeasurable, WindowStats, check_from_text, checks_for_incident


def slo(metric: str, op: str, threshold: float, unit: str, *, text: str = "", line: int = 1) -> Slo:
    return Slo(
        metric=metric, op=op, threshold=threshold, unit=unit, text=text or f"{metric} {op} {threshold}", line=line
    )  # type: ignore[arg-type]


def window(
    requests: int = 100, errors: int = 0, p50: float = 10.0, p95: float = 20.0, p99: float = 30.0
) -> WindowStats:
    return WindowStats(
        t_end=100.0,
        window_s=5.0,
        requests=requests,
        errors=errors,
        error_rate=errors / requests if requests else 0.0,
        p50_ms=p50 if requests else None,
        p95_ms=p95 if requests else None,
        p99_ms=p99 if requests else None,
        rps=requests / 5.0,
    )


def test_error_rate_percent_becomes_a_fraction() -> None:
    check = Check.from_slo(slo("error_rate", "<", 1, "%"))
    assert (check.metric, check.op, check.threshold) == (Metric.ERROR_RATE, "<", 0.01)
    assert check.describe() == "error_rate < 1%"


def test_latency_in_seconds_becomes_milliseconds() -> None:
    check = Check.from_slo(slo("latency_p95", "<", 3, "s"))
    assert check.threshold == 3000.0
    assert check.describe() == "latency_p95 < 3000ms"


def test_latency_without_percentile_is_read_as_p95() -> None:
    assert Check.from_slo(slo("latency", "<", 100, "ms")).metric is Metric.LATENCY_P95


def test_alert_becomes_its_good_side_with_the_alert_delay() -> None:
    good = slo("error_rate", "<", 5, "%")
    alert = AlertTrigger(
        "HighErrorRate", "http_errors_total", ">", 5, "%", 120.0, "`http_errors_total` > 5% for 2 minutes", 7, good
    )
    check = Check.from_alert(alert)
    assert check.describe() == "error_rate < 5%"
    assert check.for_seconds == 120.0
    assert (check.text, check.line) == (alert.text, 7)


def test_alert_without_an_objective_is_not_measurable() -> None:
    alert = AlertTrigger(
        "RateLimit", "rate_limit_exceeded_total", ">", 100, "per minute", None, "x > 100 per minute", 3
    )
    with pytest.raises(NotMeasurable, match="rate_limit_exceeded_total"):
        Check.from_alert(alert)


@pytest.mark.parametrize(
    ("metric", "reason"),
    [("db_latency_p95", "database"), ("mttr", "MTTR"), ("cpu", "CPU"), ("replication_lag", "replication")],
)
def test_objectives_outside_request_traffic_say_why_they_are_not_measurable(metric: str, reason: str) -> None:
    with pytest.raises(NotMeasurable, match=reason) as caught:
        Check.from_slo(slo(metric, "<", 1, "ms", line=12))
    assert "line 12" in str(caught.value)


def test_unknown_unit_is_not_measurable() -> None:
    with pytest.raises(NotMeasurable, match="unit 'furlongs'"):
        Check.from_slo(slo("latency_p95", "<", 1, "furlongs"))


def test_error_rate_check_fails_above_its_threshold() -> None:
    check = Check.from_slo(slo("error_rate", "<", 5, "%"))
    assert check.evaluate(window(errors=4)) == (CheckStatus.OK, 0.04)
    assert check.evaluate(window(errors=6)) == (CheckStatus.FAILING, 0.06)


def test_availability_is_the_share_of_good_requests() -> None:
    check = Check.from_slo(slo("availability", ">=", 99.9, "%"))
    assert check.evaluate(window(requests=1000, errors=1)) == (CheckStatus.OK, 0.999)
    assert check.evaluate(window(requests=1000, errors=2))[0] is CheckStatus.FAILING


def test_latency_checks_read_their_own_percentile() -> None:
    stats = window(p50=10, p95=250, p99=900)
    assert Check.from_slo(slo("latency_p50", "<", 100, "ms")).evaluate(stats)[0] is CheckStatus.OK
    assert Check.from_slo(slo("latency_p95", "<", 200, "ms")).evaluate(stats) == (CheckStatus.FAILING, 250)
    assert Check.from_slo(slo("latency_p99", "<", 1, "s")).evaluate(stats) == (CheckStatus.OK, 900)


@pytest.mark.parametrize(
    ("metric", "errors", "status"),
    [
        ("latency_p95", 5, CheckStatus.OK),  # 95 answered requests hold the 95th percentile
        ("latency_p95", 6, CheckStatus.FAILING),  # the 95th percentile is a failed request
        ("latency_p99", 2, CheckStatus.FAILING),
        ("latency_p50", 50, CheckStatus.OK),
        ("latency_p50", 51, CheckStatus.FAILING),
        ("latency_p95", 100, CheckStatus.FAILING),  # every connection refused, each in a few milliseconds
    ],
)
def test_a_latency_percentile_that_falls_on_failed_requests_is_unserved(
    metric: str, errors: int, status: CheckStatus
) -> None:
    check = Check.from_slo(slo(metric, "<", 500, "ms"))
    got, value = check.evaluate(window(requests=100, errors=errors, p50=5, p95=30, p99=40))
    assert got is status
    assert (value == math.inf) is (status is CheckStatus.FAILING)
    if status is CheckStatus.FAILING:
        assert check.format_value(value) == "unserved (the percentile falls on failed requests)"


def test_a_window_below_the_minimum_request_count_is_no_data() -> None:
    check = Check.from_slo(slo("error_rate", "<", 5, "%"))
    assert check.evaluate(window(requests=2, errors=2), min_requests=5)[0] is CheckStatus.NO_DATA
    assert check.evaluate(window(requests=0))[0] is CheckStatus.NO_DATA


def test_incident_checks_come_from_its_slos_and_alerts_without_duplicates() -> None:
    good = slo("error_rate", "<", 5, "%")
    alert = AlertTrigger("HighErrorRate", "http_errors_total", ">", 5, "%", 120.0, "alert", 4, good)
    incident = Incident(
        id="inc-1", title="High error rate", line=1, alerts=(alert,), slos=(good, slo("cpu", "<", 80, "%"))
    )
    runbook = Runbook(path=Path("rb.md"), title="rb", incidents=(incident,), slos=(slo("latency_p95", "<", 500, "ms"),))
    plan = checks_for_incident(incident, runbook)
    assert [c.describe() for c in plan.checks] == ["error_rate < 5%"]
    assert [(u.metric, u.reason) for u in plan.not_measurable] == [
        ("cpu", "CPU usage is a resource metric, not visible in request traffic")
    ]


def test_incident_without_measurable_objectives_falls_back_to_the_document_slos() -> None:
    incident = Incident(id="inc-2", title="Memory", line=1, slos=(slo("memory", "<", 80, "%"),))
    runbook = Runbook(
        path=Path("rb.md"),
        title="rb",
        incidents=(incident,),
        slos=(slo("error_rate", "<", 1, "%"), slo("mttr", "<", 1800, "s")),
    )
    plan = checks_for_incident(incident, runbook)
    assert [c.describe() for c in plan.checks] == ["error_rate < 1%"]
    assert sorted(u.metric for u in plan.not_measurable) == ["memory", "mttr"]


def test_check_values_format_in_the_units_they_describe() -> None:
    assert Check.from_slo(slo("error_rate", "<", 1, "%")).format_value(0.0523) == "5.23%"
    assert Check.from_slo(slo("latency_p99", "<", 1, "s")).format_value(None) == "no data"


def test_drill_stated_objective_becomes_a_check() -> None:
    assert check_from_text("error rate < 1%").describe() == "error_rate < 1%"


def test_unreadable_drill_objective_names_the_text_and_the_file() -> None:
    with pytest.raises(ScenarioError, match=r"drill\.feature:7: .*'make it fast'"):
        check_from_text("make it fast", path="drill.feature", line=7)


def test_unmeasurable_drill_objective_says_why() -> None:
    with pytest.raises(NotMeasurable, match="CPU"):
        check_from_text("CPU usage < 80%", path="drill.feature", line=3)
