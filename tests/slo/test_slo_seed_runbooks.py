"""Every SLO and alert sentence in the five seed runbooks yields a check or a documented reason it cannot.

The sentences are copied by hand from ``scenarios/*/runbook.md``; each is paired with the objective a reader
takes from it (what good looks like, in the runbook's own unit). The parsed documents are checked too.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from drillbook.runbook import AlertTrigger, Runbook, Slo, parse_runbook
from drillbook.runbook.slos import parse_alert_text, parse_slo_text
from drillbook.slo import Check, NotMeasurable, checks_for_incident

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ("zephyr-voting", "azora", "chat-rooms", "phase5-todo", "architect-api")

# (seed, sentence as written, metric, good op, threshold, unit, expected check or None when not measurable)
SENTENCES: list[tuple[str, str, str, str, float, str, str | None]] = [
    (
        "zephyr-voting",
        "**Uptime**: 99.9% during business hours",
        "availability",
        ">=",
        99.9,
        "%",
        "availability >= 99.9%",
    ),
    ("zephyr-voting", "**Error Rate**: <1% of requests", "error_rate", "<", 1, "%", "error_rate < 1%"),
    ("zephyr-voting", "P95 <500ms for API", "latency_p95", "<", 500, "ms", "latency_p95 < 500ms"),
    ("zephyr-voting", "P95 <100ms for database queries", "db_latency_p95", "<", 100, "ms", None),
    ("zephyr-voting", "**Mean Time to Recovery (MTTR)**: <30 minutes", "mttr", "<", 1800, "s", None),
    ("zephyr-voting", "`http_errors_total` > 5% for 2 minutes", "error_rate", "<", 5, "%", "error_rate < 5%"),
    ("zephyr-voting", "Error rate >5% for 5 minutes after deployment", "error_rate", "<", 5, "%", "error_rate < 5%"),
    ("zephyr-voting", "`db_query_duration_seconds` P95 > 100ms for 5 minutes", "db_latency_p95", "<", 100, "ms", None),
    ("zephyr-voting", "`nodejs_heap_used_percent` > 90% for 5 minutes", "memory", "<", 90, "%", None),
    (
        "zephyr-voting",
        "`rate_limit_exceeded_total` > 100 per minute",
        "rate_limit_exceeded",
        "<",
        100,
        "per minute",
        None,
    ),
    ("azora", "Error rate > 1%", "error_rate", "<", 1, "%", "error_rate < 1%"),
    ("azora", "API response time > 100ms", "latency", "<", 100, "ms", "latency_p95 < 100ms"),
    ("azora", "Memory usage > 80%", "memory", "<", 80, "%", None),
    ("azora", "CPU usage > 80%", "cpu", "<", 80, "%", None),
    ("azora", "Database query time > 50ms", "db_latency", "<", 50, "ms", None),
    ("azora", "Replication lag > 1 second", "replication_lag", "<", 1, "s", None),
    ("chat-rooms", "Error rate < 1%", "error_rate", "<", 1, "%", "error_rate < 1%"),
    ("chat-rooms", "Response time < 500ms p95", "latency_p95", "<", 500, "ms", "latency_p95 < 500ms"),
    ("chat-rooms", "WebSocket connection success rate > 99%", "websocket_success_rate", ">", 99, "%", None),
    ("chat-rooms", "| API Response Time (p95) | > 1000ms |", "latency_p95", "<", 1000, "ms", "latency_p95 < 1000ms"),
    ("chat-rooms", "| Error Rate | > 5% |", "error_rate", "<", 5, "%", "error_rate < 5%"),
    ("chat-rooms", "| CPU Usage | > 80% |", "cpu", "<", 80, "%", None),
    ("chat-rooms", "| Memory Usage | > 85% |", "memory", "<", 85, "%", None),
    ("chat-rooms", "| WebSocket Connections | > 10,000 |", "websocket_connections", "<", 10000, "", None),
    ("chat-rooms", "| Database Connections | > 80% of pool |", "db_connections", "<", 80, "%", None),
    ("phase5-todo", "Error rate > 5% for 5 minutes", "error_rate", "<", 5, "%", "error_rate < 5%"),
    ("phase5-todo", "P95 latency > 3 seconds for 5 minutes", "latency_p95", "<", 3, "s", "latency_p95 < 3000ms"),
    ("phase5-todo", "Pod restart count > 5 in 10 minutes", "pod_restarts", "<", 5, "", None),
    ("phase5-todo", "CPU > 70% for 5 minutes", "cpu", "<", 70, "%", None),
    ("phase5-todo", "Memory > 80% for 5 minutes", "memory", "<", 80, "%", None),
    ("architect-api", "High Error Rate (> 0.1%)", "error_rate", "<", 0.1, "%", "error_rate < 0.1%"),
    ("architect-api", "High Latency (P95 > 300ms)", "latency_p95", "<", 300, "ms", "latency_p95 < 300ms"),
    ("architect-api", "100% error rate", "error_rate", "<", 100, "%", "error_rate < 100%"),
    ("architect-api", "CPU > 80%, slow responses", "cpu", "<", 80, "%", None),
]


class Row(NamedTuple):
    seed: str
    sentence: str
    metric: str
    op: str
    threshold: float
    unit: str
    expected: str | None


ROWS = [Row(*item) for item in SENTENCES]
IDS = [f"{row.seed}:{row.sentence[:40]}" for row in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_hand_listed_sentence_appears_in_its_seed_runbook(row: Row) -> None:
    text = (ROOT / "scenarios" / row.seed / "runbook.md").read_text(encoding="utf-8")
    assert row.sentence in text


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_seed_objective_yields_a_check_or_a_reason(row: Row) -> None:
    slo = Slo(row.metric, row.op, row.threshold, row.unit, row.sentence, 1)  # type: ignore[arg-type]
    if row.expected is None:
        with pytest.raises(NotMeasurable) as caught:
            Check.from_slo(slo)
        assert caught.value.reason
        assert row.sentence in str(caught.value)
    else:
        assert Check.from_slo(slo).describe() == row.expected


def test_every_seed_runbook_has_hand_listed_sentences() -> None:
    assert {row.seed for row in ROWS} == set(SEEDS)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_parsed_seed_sentence_yields_a_check_or_a_reason(row: Row) -> None:
    parsed = parse_slo_text(row.sentence, line=1)
    if parsed is None and (alert := parse_alert_text(row.sentence, line=1)) is not None:
        parsed = alert.slo
    outcome: str | None = None
    if parsed is not None:
        try:
            outcome = Check.from_slo(parsed).describe()
        except NotMeasurable:
            outcome = None
    assert outcome == row.expected, f"{row.sentence!r} parsed as {parsed!r}"


def _objectives(runbook: Runbook) -> list[Slo | AlertTrigger]:
    found: list[Slo | AlertTrigger] = list(runbook.slos)
    for incident in runbook.incidents:
        found.extend(incident.slos)
        found.extend(incident.alerts)
    return found


@pytest.mark.parametrize("seed", SEEDS)
def test_every_parsed_objective_in_a_seed_yields_a_check_or_a_reason(seed: str) -> None:
    runbook = parse_runbook(ROOT / "scenarios" / seed / "runbook.md")
    objectives = _objectives(runbook)
    assert objectives, f"the parser found no SLOs or alerts in {seed}"
    outcomes: list[str] = []
    for objective in objectives:
        try:
            check = Check.from_slo(objective) if isinstance(objective, Slo) else Check.from_alert(objective)
        except NotMeasurable as exc:
            outcomes.append(f"not measurable: {exc.reason}")
        else:
            outcomes.append(check.describe())
    assert len(outcomes) == len(objectives)
    assert all(outcome.removeprefix("not measurable: ") for outcome in outcomes)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_seed_incident_gets_a_plan_that_accounts_for_its_objectives(seed: str) -> None:
    runbook = parse_runbook(ROOT / "scenarios" / seed / "runbook.md")
    for incident in runbook.incidents:
        plan = checks_for_incident(incident, runbook)
        own = len(incident.slos) + len(incident.alerts)
        assert len(plan.checks) + len(plan.not_measurable) >= min(own, 1), incident.id
        assert all(u.reason for u in plan.not_measurable)


def test_zephyr_error_rate_incident_checks_the_alert_with_its_two_minute_delay() -> None:
    runbook = parse_runbook(ROOT / "scenarios" / "zephyr-voting" / "runbook.md")
    plan = checks_for_incident(runbook.incidents[0], runbook)
    assert [(c.describe(), c.for_seconds) for c in plan.checks] == [("error_rate < 5%", 120.0)]


def test_zephyr_incident_without_objectives_falls_back_to_the_document_slos() -> None:
    runbook = parse_runbook(ROOT / "scenarios" / "zephyr-voting" / "runbook.md")
    plan = checks_for_incident(runbook.incident("Incident-2"), runbook)
    assert [c.describe() for c in plan.checks] == ["availability >= 99.9%", "error_rate < 1%", "latency_p95 < 500ms"]
    assert {u.metric for u in plan.not_measurable} == {"db_latency_p95", "mttr"}
