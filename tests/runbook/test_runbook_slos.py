"""SLO, alert and duration sentences as the SLO checks and the parser read them."""

from __future__ import annotations

import pytest

from drillbook.runbook.slos import duration_seconds, parse_alert_text, parse_slo_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Error Rate: <1% of requests", ("error_rate", "<", 1, "%")),
        ("P95 <500ms for API", ("latency_p95", "<", 500, "ms")),
        ("P95 <100ms for database queries", ("db_latency_p95", "<", 100, "ms")),
        ("Uptime 99.9%", ("availability", ">=", 99.9, "%")),
        ("Response time > 1000ms", ("latency", "<", 1000, "ms")),
        ("error rate below 2 percent", ("error_rate", "<", 2, "%")),
        ("WebSocket connection success rate > 99%", ("websocket_success_rate", ">", 99, "%")),
        ("Mean Time to Recovery (MTTR): <30 minutes", ("mttr", "<", 1800, "s")),
        ("| WebSocket Connections | > 10,000 |", ("websocket_connections", "<", 10000, "")),
        ("`rate_limit_exceeded_total` > 100 per minute", ("rate_limit_exceeded", "<", 100, "per minute")),
        ("`nodejs_heap_used_percent` > 90% for 5 minutes", ("memory", "<", 90, "%")),
    ],
)
def test_slo_sentence_reads_as_metric_op_threshold_unit(text: str, expected: tuple[object, ...]) -> None:
    slo = parse_slo_text(text, line=4)
    assert slo is not None
    assert (slo.metric, slo.op, slo.threshold, slo.unit) == expected
    assert (slo.text, slo.line) == (text, 4)


def test_alert_condition_is_turned_into_its_good_side_in_milliseconds() -> None:
    slo = parse_slo_text("P95 latency > 3 seconds")
    assert slo is not None
    assert (slo.metric, slo.op, slo.threshold, slo.unit) == ("latency_p95", "<", 3000, "ms")


@pytest.mark.parametrize("text", ["make it fast", "Cannot connect to database", "", "Restart Redis service"])
def test_sentence_without_a_number_is_not_an_slo(text: str) -> None:
    assert parse_slo_text(text) is None


def test_alert_trigger_keeps_the_written_condition_and_its_duration() -> None:
    alert = parse_alert_text("error rate > 5% for 2 minutes", line=9, name="HighErrorRate")
    assert alert is not None
    assert (alert.name, alert.metric, alert.op, alert.threshold, alert.unit) == (
        "HighErrorRate",
        "error rate",
        ">",
        5,
        "%",
    )
    assert (alert.for_seconds, alert.line) == (120, 9)
    assert alert.slo is not None
    assert (alert.slo.metric, alert.slo.op, alert.slo.threshold) == ("error_rate", "<", 5)


def test_alert_without_a_comparison_is_none() -> None:
    assert parse_alert_text("Cannot connect to database") is None
    assert parse_alert_text("Pod restart count > 5 in 10 minutes").for_seconds == 600  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15-30 minutes", 1800), ("1-4 hours", 14400), ("< 5 minutes", 300), ("1 hour", 3600), ("90s", 90)],
)
def test_duration_is_the_upper_bound_in_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_duration_without_a_number_is_none() -> None:
    assert duration_seconds("Next business day") is None
