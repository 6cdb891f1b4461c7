"""A drill on a sandbox with a Prometheus journals, for every alert the incident names, whether and when it would
have fired — and "would not have paged anyone" or "watches nothing" when it did not."""

from __future__ import annotations

import time
from pathlib import Path

from drillbook.drill.ports import PrometheusQueries
from drillbook.drill.session import Drill
from drillbook.drill.spec import DrillSpec
from drillbook.journal import JournalWriter, Note, read_journal
from drillbook.runbook.model import AlertTrigger, Incident, Runbook
from drillbook.slo.alerts import AlertOutcome
from drillbook.slo.checks import checks_for_incident
from drillbook.slo.promql import Series


class _Prometheus:
    """Answers every range query with one recorded series: 50 % errors from ``bad_from`` to ``bad_until``."""

    def __init__(self, bad_from: float, bad_until: float) -> None:
        self.bad_from, self.bad_until = bad_from, bad_until

    def query(self, expr: str, at: float) -> list[Series]:
        return []

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
        if "nobody_exports_this" in expr:
            return []
        steps = range(int((end - start) / step_s) + 1)
        samples = tuple(
            (round(start + i * step_s, 3), 50.0 if self.bad_from <= start + i * step_s < self.bad_until else 0.0)
            for i in steps
        )
        return [Series({}, samples)]


class _Sandbox:
    def __init__(self, prom: _Prometheus) -> None:
        self.prom = prom

    def prom_query(self) -> _Prometheus:
        return self.prom


def _alert(metric: str, for_seconds: float | None, line: int) -> AlertTrigger:
    return AlertTrigger("Errors", metric, ">", 5.0, "%", for_seconds, f"{metric} > 5%", line)


def test_each_alert_the_incident_names_is_journaled_with_when_it_fired_or_why_it_did_not(tmp_path: Path) -> None:
    alerts = (
        _alert("http_errors_total", 2, 10),
        _alert("http_errors_total", 600, 11),
        _alert("rate(nobody_exports_this[1m])", None, 12),
    )
    incident = Incident("RB-1", "Errors", 1, alerts=alerts)
    runbook = Runbook(Path("runbook.md"), "Test", (incident,))
    now = time.time()
    sandbox = _Sandbox(_Prometheus(bad_from=now - 20, bad_until=now - 8))
    assert isinstance(sandbox, PrometheusQueries)
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        drill = Drill(
            drill_id="d1",
            spec=DrillSpec(system="fake"),
            runbook=runbook,
            incident=incident,
            plan=checks_for_incident(incident, runbook),
            journal=journal,
        )
        drill._wall0 = now - 30  # the drill began 30 s ago; the fault was injected at its start
        drill._evaluate_alerts(sandbox)  # type: ignore[arg-type]
    outcomes = [e.outcome for e in drill.state.alerts]
    assert outcomes == [AlertOutcome.FIRED, AlertOutcome.NEVER_FIRED, AlertOutcome.NO_DATA]
    notes = [e.message for e in read_journal(tmp_path / "journal.jsonl") if isinstance(e, Note)]
    assert notes[0].startswith("alert 'http_errors_total > 5%' (line 10) would have fired at t=12.0 s;")
    assert "cleared at t=22.0 s" in notes[0]
    assert "would not have paged anyone" in notes[1]
    assert "returned no data" in notes[2]
