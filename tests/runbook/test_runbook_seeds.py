"""The five seed runbooks parse into the incidents, targets, SLOs, alerts and steps a reader sees in them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drillbook.runbook import Effect, Runbook, TimeTargetKind

Seed = Callable[[str], Runbook]
SEEDS = ("azora", "zephyr-voting", "architect-api", "phase5-todo", "chat-rooms")


def test_azora_has_thirteen_rb_incidents_in_order(seed: Seed) -> None:
    assert [i.id for i in seed("azora").incidents] == [f"RB-{n:03d}" for n in range(1, 14)]


@pytest.mark.parametrize(
    ("incident", "seconds"),
    [("RB-001", 1800), ("RB-002", 600), ("RB-007", 900), ("RB-008", 2700), ("RB-011", 14400), ("RB-012", 300)],
)
def test_azora_time_to_resolve_is_the_upper_bound(seed: Seed, incident: str, seconds: float) -> None:
    target = seed("azora").incident(incident).time_target
    assert target is not None
    assert target.kind is TimeTargetKind.TIME_TO_RESOLVE
    assert target.seconds == seconds


def test_azora_rb007_has_its_six_steps_then_its_resolution(seed: Seed) -> None:
    incident = seed("azora").incident("rb-007")
    assert incident.severity == "Critical"
    assert incident.time_target is not None
    assert (incident.time_target.text, incident.time_target.line) == ("10-15 minutes", 377)
    assert [s.number for s in incident.steps] == [1, 2, 3, 4, 5, 6, 7]
    resolution = incident.steps[6]
    assert resolution.title == "Resolution"
    assert [c.effect for c in resolution.commands] == [Effect.MANUAL]
    assert resolution.commands[0].text.startswith("Increase connection pool size")
    assert incident.steps[0].title == "Check Connection Pool Status"
    first = incident.steps[0].commands[0]
    assert first.text == (
        'kubectl exec -it deployment/api-gateway -n production -- psql -c "SELECT count(*) FROM pg_stat_activity;"'
    )
    assert (first.tool, first.verb, first.resource, first.effect) == ("kubectl", "exec", "deployment", Effect.READ_ONLY)
    assert first.line == 383
    kill = incident.steps[2].commands[0]
    assert "pg_terminate_backend" in kill.text
    assert kill.effect is Effect.MUTATING
    pool = incident.steps[3].commands[0]
    assert pool.text == "kubectl set env deployment/api-gateway DATABASE_POOL_SIZE=50 -n production"
    restart = incident.steps[4].commands[0]
    assert (restart.verb, restart.resource, restart.effect) == ("rollout", "deployment", Effect.MUTATING)


def test_zephyr_document_slos_and_mttr(seed: Seed) -> None:
    runbook = seed("zephyr-voting")
    slos = {(s.metric, s.op, s.threshold, s.unit) for s in runbook.slos}
    assert slos == {
        ("availability", ">=", 99.9, "%"),
        ("error_rate", "<", 1, "%"),
        ("latency_p95", "<", 500, "ms"),
        ("db_latency_p95", "<", 100, "ms"),
        ("mttr", "<", 1800, "s"),
    }
    assert [(t.kind, t.seconds) for t in runbook.time_targets] == [(TimeTargetKind.MTTR, 1800)]


def test_zephyr_has_five_numbered_incidents_found_by_their_heading_words(seed: Seed) -> None:
    runbook = seed("zephyr-voting")
    assert [i.id for i in runbook.incidents[:5]] == [f"Incident-{n}" for n in range(1, 6)]
    assert runbook.incident("Incident 2").title == "Incident 2: Database Connection Issues"
    assert runbook.incident("incident-3") is runbook.incident("Incident 3: Redis Connection Issues")


def test_zephyr_incident_one_alert_holds_for_two_minutes(seed: Seed) -> None:
    (alert,) = seed("zephyr-voting").incident("Incident 1").alerts
    assert (alert.metric, alert.op, alert.threshold, alert.unit) == ("http_errors_total", ">", 5, "%")
    assert alert.for_seconds == 120
    assert alert.slo is not None
    assert (alert.slo.metric, alert.slo.op, alert.slo.threshold, alert.slo.unit) == ("error_rate", "<", 5, "%")


def test_zephyr_incidents_inherit_the_document_mttr(seed: Seed) -> None:
    incident = seed("zephyr-voting").incident("Incident 4")
    assert incident.time_target is not None
    assert incident.time_target.kind is TimeTargetKind.MTTR


@pytest.mark.parametrize(("incident", "seconds"), [("P1", 300), ("P2", 900), ("P3", 3600)])
def test_architect_priorities_carry_response_slas_not_resolution_targets(
    seed: Seed, incident: str, seconds: float
) -> None:
    found = seed("architect-api").incident(incident)
    assert found.severity == incident
    assert found.time_target is None  # "Response SLA: 5 minutes" says when to respond, not when to resolve
    assert found.response_target is not None
    assert (found.response_target.kind, found.response_target.seconds) == (TimeTargetKind.RESPONSE_SLA, seconds)


def test_architect_heading_thresholds_become_alerts_and_slos(seed: Seed) -> None:
    runbook = seed("architect-api")
    p2, p3 = runbook.incident("P2"), runbook.incident("P3")
    assert [(s.metric, s.op, s.threshold, s.unit) for s in p2.slos] == [("error_rate", "<", 0.1, "%")]
    assert [(s.metric, s.op, s.threshold, s.unit) for s in p3.slos] == [("latency_p95", "<", 300, "ms")]
    assert (p2.alerts[0].op, p2.alerts[0].threshold) == (">", 0.1)


def test_architect_troubleshooting_sections_are_incidents_with_steps(seed: Seed) -> None:
    runbook = seed("architect-api")
    exhaustion = runbook.incident("Database Connection Exhaustion")
    assert exhaustion.id == "database-connection-exhaustion"
    texts = [c.text for s in exhaustion.steps for c in s.commands]
    assert "SELECT datname, count(*) FROM pg_stat_activity GROUP BY datname;" in texts
    assert any("pg_terminate_backend" in t for t in texts)
    assert runbook.incident("pods-not-starting").steps[0].commands[0].placeholders == ("<pod-name>",)


def test_phase5_alerts_have_triggers_durations_and_severity_slas(seed: Seed) -> None:
    runbook = seed("phase5-todo")
    crash = runbook.incident("PodCrashLooping")
    assert crash.title == "3. PodCrashLooping (P1)"
    assert crash.severity == "P1"
    assert crash.alerts[0].for_seconds == 600
    latency = runbook.incident("highlatency")
    assert latency.alerts[0].for_seconds == 300
    assert latency.alerts[0].slo is not None
    assert latency.alerts[0].slo.threshold == 3000
    assert latency.time_target is None  # the severity table gives response times only
    assert latency.response_target is not None
    assert latency.response_target.seconds == 3600


def test_phase5_rto_table_becomes_document_time_targets(seed: Seed) -> None:
    rto = [(t.text, t.seconds) for t in seed("phase5-todo").time_targets if t.kind is TimeTargetKind.RTO]
    assert rto == [("Backend API: 15 minutes", 900), ("Database: 1 hour", 3600), ("Kafka: 30 minutes", 1800)]


def test_chat_rooms_metric_table_thresholds_attach_to_matching_alerts(seed: Seed) -> None:
    runbook = seed("chat-rooms")
    assert [(a.name, a.op, a.threshold, a.unit) for a in runbook.alerts][:2] == [
        ("API Response Time (p95)", ">", 1000, "ms"),
        ("Error Rate", ">", 5, "%"),
    ]
    high_errors = runbook.incident("High Error Rate Alert")
    assert [a.name for a in high_errors.alerts] == ["Error Rate"]


def test_chat_rooms_numbered_comments_in_one_block_are_steps(seed: Seed) -> None:
    incident = seed("chat-rooms").incident("high-error-rate-alert")
    assert [s.number for s in incident.steps] == [1, 2, 3, 4, 5, 6]
    assert incident.steps[3].title == "If deployment-related, rollback"
    (undo,) = incident.steps[3].commands
    assert undo.text == "kubectl rollout undo deployment/chat-rooms-api -n production"
    assert (undo.verb, undo.language, undo.line) == ("rollout", "bash", 223)


@pytest.mark.parametrize("name", SEEDS)
def test_every_seed_incident_has_steps_or_says_it_has_none_for_a_reason(seed: Seed, name: str) -> None:
    runbook = seed(name)
    assert runbook.incidents
    with_steps = [i for i in runbook.incidents if i.steps]
    assert len(with_steps) >= len(runbook.incidents) - 1  # zephyr's "Alert: High Error Rate" only links Incident 1


@pytest.mark.parametrize("name", ["azora", "zephyr-voting", "architect-api"])
def test_every_incident_in_runbooks_with_targets_has_one(seed: Seed, name: str) -> None:
    runbook = seed(name)
    stated = [i for i in runbook.incidents if i.time_target is not None]
    if name == "architect-api":  # P1-P3 state a response SLA only; troubleshooting sections state nothing
        assert stated == []
        assert [i.id for i in runbook.incidents if i.response_target] == ["P1", "P2", "P3"]
    else:
        assert stated == list(runbook.incidents)


def test_phase5_alerts_all_inherit_their_severity_response_sla(seed: Seed) -> None:
    alerts = ("HighErrorRate", "HighLatency", "PodCrashLooping", "DatabaseConnectionFailed")
    for name in alerts:
        assert seed("phase5-todo").incident(name).response_target is not None, name
        assert seed("phase5-todo").incident(name).time_target is None, name


@pytest.mark.parametrize("name", SEEDS)
def test_seed_json_has_the_documented_fields(seed: Seed, name: str) -> None:
    data = seed(name).to_json()
    incident = next(i for i in data["incidents"] if i["steps"] and i["steps"][0]["commands"])
    assert {"id", "title", "severity", "time_target", "alerts", "slos", "steps", "line"} <= incident.keys()
    command = incident["steps"][0]["commands"][0]
    assert {"text", "line", "tool", "effect", "placeholders"} <= command.keys()
    assert isinstance(command["effect"], str)
    assert {"slos", "time_targets", "incidents", "metadata"} <= data.keys()


def test_architect_p1_recovery_offers_three_labelled_options(seed: Seed) -> None:
    step = seed("architect-api").incident("P1").steps[3]
    assert step.title == "Immediate Recovery"
    assert [(c.verb, c.branch) for c in step.commands] == [
        ("rollout", "Option 1"),
        ("rollout", "Option 2"),
        ("scale", "Option 3"),
    ]


def test_architect_p2_scale_or_restart_offers_the_two_as_branches(seed: Seed) -> None:
    step = seed("architect-api").incident("P2").steps[3]
    assert step.title == "Scale or Restart"
    assert [(c.verb, c.branch) for c in step.commands] == [("scale", "Scale up"), ("rollout", "Or restart")]


def test_zephyr_mitigation_after_the_triage_steps_joins_its_incident_as_branches(seed: Seed) -> None:
    mitigation = seed("zephyr-voting").incident("Incident 2").steps[-1]
    assert (mitigation.number, mitigation.title) == (4, "Mitigation")
    by_branch = {c.branch: c for c in mitigation.commands}
    assert list(by_branch) == ["Pool exhausted", "Database overloaded", "Long-running queries", "Circuit breaker open"]
    assert by_branch["Pool exhausted"].effect is Effect.MANUAL
    assert "DB_POOL_MAX" in by_branch["Pool exhausted"].text
    kill = by_branch["Long-running queries"]
    assert (kill.language, kill.effect, kill.placeholders) == ("sql", Effect.MUTATING, ("<PID>",))


def test_zephyr_redis_mitigation_is_a_prose_step_a_drill_can_supply(seed: Seed) -> None:
    steps = seed("zephyr-voting").incident("Incident 3").steps
    assert [s.title for s in steps] == ["Verify Redis Availability", "Check Redis Memory", "Mitigation"]
    assert steps[2].commands[0].branch == "Redis down"
    assert all(c.effect is Effect.MANUAL for c in steps[2].commands)


def test_zephyr_deployment_failure_offers_kubernetes_and_docker_compose_as_branches(seed: Seed) -> None:
    first, _, mitigation = seed("zephyr-voting").incident("Incident 5").steps
    assert [(c.branch, c.effect) for c in first.commands] == [
        ("Kubernetes", Effect.READ_ONLY),
        ("Kubernetes", Effect.READ_ONLY),
        ("Docker Compose", Effect.READ_ONLY),
    ]
    undo = next(c for c in mitigation.commands if c.verb == "rollout")
    assert (undo.text, undo.branch) == (
        "kubectl rollout undo deployment/zephyr-backend",
        "Rollback deployment / Kubernetes",
    )


def test_zephyr_db_host_placeholder_is_not_a_restore(seed: Seed) -> None:
    connect = seed("zephyr-voting").incident("Incident 2").steps[2].commands[0]
    assert connect.text == "psql -h <DB_HOST> -U <DB_USER> -d zephyr"
    assert connect.effect is Effect.READ_ONLY


def test_chat_rooms_npm_health_script_is_a_read_only_check(seed: Seed) -> None:
    step = seed("chat-rooms").incident("High Error Rate Alert").steps[4]
    assert step.commands[0].text.endswith("npm run health:db")
    assert step.commands[0].effect is Effect.READ_ONLY
