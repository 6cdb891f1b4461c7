"""Projected MTTR adds people's time to the sandbox's measured time."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.drill.projection import ProjectionSettings, prescribed_wait_seconds, project, resolution_target
from drillbook.runbook import parse_runbook
from drillbook.runbook.model import AlertTrigger, Command, Effect, Incident, Step, TimeTarget, TimeTargetKind
from drillbook.runbook.ranges import follow_up_steps


def _command(effect: Effect, text: str = "kubectl get pods") -> Command:
    return Command(text=text, line=1, language="bash", tool="kubectl", effect=effect)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("Wait for circuit breaker to half-open (30s), retry", 0.0),
        ("wait 30 seconds", 30.0),
        ("Monitor for 15 Minutes", 900.0),
        ("sleep 30", 30.0),
        ("allow up to 2 minutes for the pods", 120.0),
        ("no waiting here", 0.0),
    ],
)
def test_prescribed_waits_are_read_from_prose(text: str, seconds: float) -> None:
    assert prescribed_wait_seconds(text) == seconds


def test_projection_adds_alert_delay_acknowledgement_operator_time_waits_and_measurement() -> None:
    alert = AlertTrigger("HighErrorRate", "http_errors_total", ">", 5.0, "%", 120.0, "> 5% for 2 minutes", 3)
    steps = (
        Step(1, "Check pods", "", 5, (_command(Effect.READ_ONLY),)),
        Step(2, "Restart", "Then wait 30 seconds.", 9, (_command(Effect.MUTATING),)),
        Step(3, "Tell the team", "Post in #incidents", 12),
    )
    incident = Incident("I-1", "Errors", 1, alerts=(alert,), steps=steps)
    projection = project(incident, steps, measured_s=40.0, settings=ProjectionSettings(acknowledge_s=60.0))
    assert projection.alert_delay_s == 120.0
    assert projection.operator_s == 30.0 + 60.0 + 180.0
    assert projection.prescribed_waits_s == 30.0
    assert projection.total_s == 120.0 + 60.0 + 270.0 + 30.0 + 40.0


def test_an_incident_without_alerts_uses_the_default_alert_delay() -> None:
    incident = Incident("I-2", "Slow", 1)
    settings = ProjectionSettings(default_alert_delay_s=90.0)
    assert project(incident, (), measured_s=0.0, settings=settings).alert_delay_s == 90.0


@pytest.mark.parametrize(
    ("kind", "judged"),
    [
        (TimeTargetKind.MTTR, True),
        (TimeTargetKind.TIME_TO_RESOLVE, True),
        (TimeTargetKind.RTO, True),
        (TimeTargetKind.RESPONSE_SLA, False),
    ],
)
def test_only_a_time_to_resolve_is_a_resolution_target(kind: TimeTargetKind, judged: bool) -> None:
    incident = Incident("P3", "High latency", 1, time_target=TimeTarget(kind, "1 hour", 3600.0, 2))
    assert (resolution_target(incident) is not None) is judged


POOL_RUNBOOK = """\
# Orders API

## Database connection pool exhausted

**Time to resolve**: 15 minutes

### Symptoms
- 503 errors from /api/orders

### Diagnosis
1. Check the pods:
```bash
kubectl get pods -n shop
```

### Resolution
1. Restart the app:
```bash
kubectl rollout restart deployment/orders -n shop
```

### Prevention
1. Review the pool size with the team.
2. Add an alert on pool usage.
3. Load-test the pool settings.
4. Document the pool sizing.
5. Schedule a capacity review.
6. Write the post-mortem.
"""


def test_the_projected_mttr_counts_only_response_steps_not_18_minutes_of_prevention_prose(tmp_path: Path) -> None:
    runbook_path = tmp_path / "runbook.md"
    runbook_path.write_text(POOL_RUNBOOK, encoding="utf-8")
    runbook = parse_runbook(runbook_path)
    incident = runbook.incidents[0]
    follow_up = follow_up_steps(runbook, incident)
    prevention = [s for s in incident.steps if s.number in follow_up]
    assert [s.title for s in prevention][:2] == ["Review the pool size with the team.", "Add an alert on pool usage."]
    settings = ProjectionSettings()
    everything = project(incident, incident.steps, measured_s=10.0, settings=settings)
    response = project(incident, incident.steps, measured_s=10.0, settings=settings, follow_up=follow_up)
    assert everything.operator_s - response.operator_s == 18 * 60, "six prose steps of Prevention: 18 minutes"
    assert response.operator_s == 30.0 + 60.0, "kubectl get (a read) and a rollout restart (a change)"
    assert response.total_s < 900, "the response fits the 15 minute target; the retrospective is not response time"


def test_a_response_step_that_mentions_prevention_still_counts(tmp_path: Path) -> None:
    runbook_path = tmp_path / "runbook.md"
    text = POOL_RUNBOOK.replace("1. Restart the app:", "1. Prevent a cascade: restart the app:")
    runbook_path.write_text(text, encoding="utf-8")
    runbook = parse_runbook(runbook_path)
    incident = runbook.incidents[0]
    restart = next(s for s in incident.steps if s.title.startswith("Prevent a cascade"))
    assert restart.number not in follow_up_steps(runbook, incident)
