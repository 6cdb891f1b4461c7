"""A drill on a sandbox with a Prometheus loads the incident's alerts as alerting rules, journals for each whether
and when it went pending, fired and resolved, and puts the ones that did not fire in the verdict as findings that
never count against the runbook ("never fired" is the drill's fidelity, "no data" the sandbox's)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from drillbook.drill.ports import AlertRuleLoader, PrometheusQueries
from drillbook.drill.session import ALERT_CLEAR_WAIT_S, ALERT_READ_MARGIN_S, Drill
from drillbook.drill.spec import DrillSpec
from drillbook.drill.verdict import AlertSeen, Observations, judge
from drillbook.journal import AlertEvaluated, FindingKind, JournalWriter, Note, Verdict, Whose, read_journal
from drillbook.runbook.model import AlertTrigger, Incident, Runbook
from drillbook.slo.alerts import AlertOutcome, AlertRule
from drillbook.slo.checks import checks_for_incident
from drillbook.slo.promql import Series


class _Prometheus:
    """50 % errors from ``bad_from`` to ``bad_until``; ``ALERTS`` as Prometheus would write it for loaded rules."""

    def __init__(self, bad_from: float, bad_until: float) -> None:
        self.bad_from, self.bad_until = bad_from, bad_until
        self.rules: dict[str, AlertRule] = {}
        self.instant: list[str] = []

    def _bad(self, t: float) -> bool:
        return self.bad_from <= t < self.bad_until

    def query(self, expr: str, at: float) -> list[Series]:
        self.instant.append(expr)
        return []

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
        times = [round(start + i * step_s, 3) for i in range(int((end - start) / step_s) + 1)]
        if expr.startswith("ALERTS"):
            name = expr.split('"')[1]
            rule = self.rules[name]
            held = [t for t in times if self._bad(t)]
            pending = tuple((t, 1.0) for t in held if t - held[0] < rule.query.for_seconds)
            firing = tuple((t, 1.0) for t in held if t - held[0] >= rule.query.for_seconds)
            out = [Series({"alertname": name, "alertstate": "pending"}, pending)] if pending else []
            return out + ([Series({"alertname": name, "alertstate": "firing"}, firing)] if firing else [])
        if "nobody_exports_this" in expr:
            return []
        return [Series({}, tuple((t, 50.0 if self._bad(t) else 0.0) for t in times))]


class _Sandbox:
    def __init__(self, prom: _Prometheus) -> None:
        self.prom = prom

    def prom_query(self) -> _Prometheus:
        return self.prom

    def load_alert_rules(self, rules: Sequence[AlertRule]) -> None:
        self.prom.rules = {rule.name: rule for rule in rules}


class _ReplayOnly:
    """A sandbox whose Prometheus can be queried but takes no rules: the drill replays them."""

    def __init__(self, prom: _Prometheus) -> None:
        self.prom = prom

    def prom_query(self) -> _Prometheus:
        return self.prom


def _alert(name: str, metric: str, for_seconds: float | None, line: int) -> AlertTrigger:
    return AlertTrigger(name, metric, ">", 5.0, "%", for_seconds, f"{metric} > 5%", line)


ALERTS = (
    _alert("HighErrorRate", "http_errors_total", 2, 10),
    _alert("SlowBurn", "http_errors_total", 600, 11),
    _alert("Renamed metric", "rate(nobody_exports_this[1m])", None, 12),
    _alert("WebSockets", "WebSocket Connections", None, 13),
)


class _Clock:
    """Wall time that moves only when the drill sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class _StillFiring(_Prometheus):
    """The instant ``ALERTS`` query says what the range says: firing from ``for`` after ``bad_from`` until
    ``bad_until`` (the evaluation that resolves it), whatever the wall clock's alignment with the range's steps."""

    def query(self, expr: str, at: float) -> list[Series]:
        self.instant.append(expr)
        fired = self.bad_from + self.rules["HighErrorRate"].query.for_seconds
        if fired <= at < self.bad_until:
            return [Series({"alertname": "HighErrorRate", "alertstate": "firing"}, ((at, 1.0),))]
        return []


def _drill(tmp_path: Path, journal: JournalWriter, now: float, clock: _Clock | None = None, began: float = 30) -> Drill:
    incident = Incident("RB-1", "Errors", 1, alerts=ALERTS)
    runbook = Runbook(Path("runbook.md"), "Test", (incident,))
    drill = Drill(
        drill_id="d1",
        spec=DrillSpec(system="fake"),
        runbook=runbook,
        incident=incident,
        plan=checks_for_incident(incident, runbook),
        journal=journal,
        clock=clock,
    )
    drill._wall0 = now - began  # the drill began `began` s ago; the fault was injected at its start
    drill.state.t_inject = 0.0
    return drill


def test_the_alerts_become_rules_and_each_is_journaled_with_its_pending_firing_and_resolved_times(
    tmp_path: Path,
) -> None:
    now = float(int(time.time()))
    prom = _Prometheus(bad_from=now - 20, bad_until=now - 8)
    sandbox = _Sandbox(prom)
    assert isinstance(sandbox, PrometheusQueries)
    assert isinstance(sandbox, AlertRuleLoader)
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        drill = _drill(tmp_path, journal, now)
        drill._load_alert_rules(sandbox)  # type: ignore[arg-type]
        drill._evaluate_alerts(sandbox)  # type: ignore[arg-type]
        drill._evaluate_alerts(sandbox)  # type: ignore[arg-type]  # once per drill
    assert sorted(prom.rules) == ["HighErrorRate", "Renamed_metric", "SlowBurn"], "the untranslatable one is not"
    assert prom.rules["SlowBurn"].entry()["for"] == "600000ms"
    outcomes = [e.outcome for e in drill.state.alerts]
    assert outcomes == [
        AlertOutcome.FIRED,
        AlertOutcome.NEVER_FIRED,
        AlertOutcome.NO_DATA,
        AlertOutcome.UNTRANSLATABLE,
    ]
    journaled = read_journal(tmp_path / "journal.jsonl")
    rows = [e for e in journaled if isinstance(e, AlertEvaluated)]
    assert [r.name for r in rows] == ["HighErrorRate", "SlowBurn", "Renamed metric", "WebSockets"]
    fired = rows[0]
    assert (fired.rule, fired.outcome, fired.line) == ("HighErrorRate", "fired", 10)
    assert (fired.pending_t, fired.firing_t, fired.resolved_t) == (10.0, 12.0, 22.0)
    assert fired.expr.endswith("> 5")
    assert fired.for_s == 2
    assert fired.message == ""
    assert rows[1].firing_t is None
    assert rows[1].pending_t == 10.0
    assert "shorter than its 'for': this drill's outage was too short for it" in rows[1].message
    assert "returned no data" in rows[2].message
    assert rows[3].expr == ""
    assert "could not be checked" in rows[3].message
    notes = [e.message for e in journaled if isinstance(e, Note)]
    assert any("alerting rules in the sandbox's Prometheus (HighErrorRate:" in n for n in notes)


def test_without_rules_the_drill_replays_the_alert_on_the_expressions_samples(tmp_path: Path) -> None:
    now = float(int(time.time()))
    sandbox = _ReplayOnly(_Prometheus(bad_from=now - 20, bad_until=now - 8))
    assert not isinstance(sandbox, AlertRuleLoader)
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        drill = _drill(tmp_path, journal, now)
        drill._load_alert_rules(sandbox)  # type: ignore[arg-type]
        drill._evaluate_alerts(sandbox)  # type: ignore[arg-type]
    first = drill.state.alerts[0]
    assert first.outcome is AlertOutcome.FIRED
    assert first.rule == ""
    assert (drill.t(first.fired_at), drill.t(first.cleared_at)) == (12.0, 22.0)


def test_after_a_restore_the_drill_waits_for_a_firing_alert_to_resolve_before_reading_it(tmp_path: Path) -> None:
    now = float(int(time.time()))
    clock = _Clock(now)
    prom = _Prometheus(bad_from=now - 20, bad_until=now - 8)
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        drill = _drill(tmp_path, journal, now, clock)
        drill._load_alert_rules(_Sandbox(prom))  # type: ignore[arg-type]
        drill.state.restore_t = 25.0
        drill._evaluate_alerts(_Sandbox(prom))  # type: ignore[arg-type]
    assert prom.instant, "it asked Prometheus whether any of the rules still fires"
    assert 'alertstate="firing"' in prom.instant[0]
    assert "HighErrorRate|SlowBurn|Renamed_metric" in prom.instant[0]
    assert clock.slept == [ALERT_READ_MARGIN_S], "not firing: two evaluations more, then the read"


def test_an_alert_that_resolves_between_the_ranges_steps_reads_as_resolved_not_still_firing(tmp_path: Path) -> None:
    """The race a loaded machine hit: the alert resolved 0.3 s before the drill's poll saw it, after the range's
    last step; read at once, its last firing sample was on that step and it read as still firing."""
    now = float(int(time.time()))
    clock = _Clock(now)
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        # The range's steps fall on .5 s; the polls on whole seconds; it resolves at +3.7 s.
        drill = _drill(tmp_path, journal, now, clock, began=30.5)
        prom = _StillFiring(bad_from=now - 20, bad_until=now + 3.7)
        drill._load_alert_rules(_Sandbox(prom))  # type: ignore[arg-type]
        drill.state.restore_t = 28.0
        drill._evaluate_alerts(_Sandbox(prom))  # type: ignore[arg-type]
    assert clock.slept == [1.0, 1.0, 1.0, 1.0, ALERT_READ_MARGIN_S], "polled until it stopped firing, then the margin"
    fired = drill.state.alerts[0]
    assert fired.outcome is AlertOutcome.FIRED
    assert fired.cleared_at == now + 4.5, "the first evaluation step after it resolved"
    notes = [e.message for e in read_journal(tmp_path / "journal.jsonl") if isinstance(e, Note)]
    assert not [n for n in notes if "still fired" in n]


def test_an_alert_that_never_resolves_is_read_as_firing_and_the_journal_says_how_long_it_waited(
    tmp_path: Path,
) -> None:
    now = float(int(time.time()))
    clock = _Clock(now)
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        drill = _drill(tmp_path, journal, now, clock)
        prom = _StillFiring(bad_from=now - 20, bad_until=now + 3600)
        drill._load_alert_rules(_Sandbox(prom))  # type: ignore[arg-type]
        drill.state.restore_t = 28.0
        drill._evaluate_alerts(_Sandbox(prom))  # type: ignore[arg-type]
    assert sum(clock.slept) == ALERT_CLEAR_WAIT_S, "the bounded wait, not a second more"
    assert drill.state.alerts[0].cleared_at is None
    notes = [e.message for e in read_journal(tmp_path / "journal.jsonl") if isinstance(e, Note)]
    assert (
        f"alert HighErrorRate still fired {ALERT_CLEAR_WAIT_S:.0f} s after the wait for it began "
        "(SLOs restored at t=28.0 s): read as still firing at the drill's end"
    ) in notes


def test_a_drill_that_never_injected_its_fault_says_nothing_about_its_alerts(tmp_path: Path) -> None:
    now = float(int(time.time()))
    prom = _Prometheus(bad_from=now - 20, bad_until=now - 8)
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        drill = _drill(tmp_path, journal, now)
        drill.state.t_inject = None  # the baseline failed: the drill stopped before its fault
        drill._evaluate_alerts(_Sandbox(prom))  # type: ignore[arg-type]
    assert drill.state.alerts == []
    journaled = read_journal(tmp_path / "journal.jsonl")
    assert not [e for e in journaled if isinstance(e, AlertEvaluated)]
    assert [e.message for e in journaled if isinstance(e, Note)] == [
        "the runbook's alerts were not evaluated: no fault was injected"
    ]


def test_alerts_that_did_not_fire_are_findings_that_never_count_against_the_runbook() -> None:
    seen = Observations(
        target_s=None,
        breached=True,
        restored=False,
        alerts=(
            AlertSeen("HighErrorRate", "fired"),
            AlertSeen("SlowBurn", "never-fired", "held for at most 9s, shorter than its 'for'", 11, "x > 5%"),
            AlertSeen("Renamed", "no-data", "alert 'Renamed' watches nothing", 12),
            AlertSeen("WebSockets", "untranslatable", "alert 'WebSockets' could not be checked", 13),
        ),
    )
    judgement = judge(seen)
    kinds = [(f.kind, f.whose, f.counts, f.line) for f in judgement.findings]
    assert kinds == [
        (FindingKind.ALERT_NOT_FIRED, Whose.DRILL, False, 11),
        (FindingKind.ALERT_NO_DATA, Whose.SANDBOX, False, 12),
        (FindingKind.ALERT_UNCHECKED, Whose.SANDBOX, False, 13),
    ]
    assert "not the runbook's failure" in judgement.findings[0].message
    assert "alert" not in judgement.reason, "alert findings are shown, never named as the runbook's in the reason"
    assert judgement.verdict is Verdict.FAILED  # decided by the SLOs, as without alerts
    assert judge(Observations(target_s=None, breached=True, restored=False)).verdict is judgement.verdict
