"""A whole drill over a fake sandbox: phases, journal, verdicts, and the revert that always runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from drillbook.drill.session import Drill, DrillOutcome
from drillbook.drill.spec import DrillSettings, DrillSpec
from drillbook.faults.base import Fault, JsonValue, RevertRecord, register
from drillbook.faults.target import FaultTarget, TrafficControl, Workload
from drillbook.journal import Decision, EventType, JournalWriter, Platform, ToolVersions, Verdict, read_journal
from drillbook.runbook.model import Command, Effect, Incident, Runbook, Slo, Step, TimeTarget, TimeTargetKind
from drillbook.slo.checks import checks_for_incident
from drillbook.slo.stats import RequestRecord

FAST = DrillSettings(
    baseline_s=1.0, breach_within_s=3.0, restore_within_s=4.0, hold_s=0.6, window_s=0.5, tick_s=0.25, poll_s=0.05
)


class _World:
    """The fake system: healthy unless broken."""

    def __init__(self) -> None:
        self.broken = False
        self.reverts = 0


@dataclass(frozen=True)
class _Outcome:
    as_written: str
    as_run: str
    decision: Decision
    exit_code: int | None
    output: str
    started: float
    ended: float
    reason: str = ""
    supplied_by_drill: bool = False


class _Runner:
    def __init__(self, world: _World, *, fixes: bool, exit_code: int = 0, output: str = "ok") -> None:
        self.world, self.fixes, self.exit_code, self.output = world, fixes, exit_code, output

    def run_step(self, step: Step, *, branch: str | None = None, supplied: str | None = None) -> Sequence[_Outcome]:
        started = time.time()
        if self.fixes and step.number == 2:
            self.world.broken = False
        text = step.commands[0].text if step.commands else ""
        return [_Outcome(text, text, Decision.RUNS, self.exit_code, self.output, started, time.time())]


class _Traffic:
    def __init__(self, world: _World, users: int, on_record: Callable[[RequestRecord], None]) -> None:
        self.world, self._users, self.on_record = world, users, on_record
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def users(self) -> int:
        return self._users

    def set_users(self, users: int) -> None:
        self._users = users

    def _loop(self) -> None:
        while not self._stop.is_set():
            ok = not self.world.broken
            self.on_record(RequestRecord(time.time(), "GET /", "GET", 200 if ok else 500, ok, 5.0))
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


class _Sandbox:
    platform = Platform.LOCAL
    platform_label = "fake platform"
    app_url = "http://127.0.0.1:1"

    def __init__(self, world: _World, runner: _Runner, tmp: Path) -> None:
        self.world, self.runner, self.tmp = world, runner, tmp
        self.closed = False

    def versions(self) -> ToolVersions:
        return ToolVersions()

    def fault_target(self, traffic: TrafficControl | None) -> FaultTarget:
        target = FaultTarget(workdir=self.tmp, kube_env={}, app=Workload("default", "app"), traffic=traffic)
        target.world = self.world  # type: ignore[attr-defined]
        return target

    def step_runner(self) -> _Runner:
        return self.runner

    def start_traffic(self, users: int, on_record: Callable[[RequestRecord], None]) -> _Traffic:
        return _Traffic(self.world, users, on_record)

    def close(self) -> None:
        self.closed = True


@register
class _Break(Fault):
    name: ClassVar[str] = "test-break"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate",)
    summary: ClassVar[str] = "breaks the fake world (tests only)"

    def revert_record(self) -> RevertRecord:
        return RevertRecord(self.name, "mend the fake world", {})

    def apply(self) -> None:
        if self.param("strength", "full") == "full":
            self.target.world.broken = True  # type: ignore[attr-defined]

    def undo(self) -> None:
        self.target.world.broken = False  # type: ignore[attr-defined]
        self.target.world.reverts += 1  # type: ignore[attr-defined]

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        return


def _incident() -> tuple[Runbook, Incident]:
    steps = (
        Step(1, "Look", "", 3, (Command("kubectl get pods", 4, "bash", "kubectl", Effect.READ_ONLY),)),
        Step(2, "Fix", "", 6, (Command("kubectl rollout undo deployment/app", 7, "bash", "kubectl", Effect.MUTATING),)),
    )
    incident = Incident(
        "RB-1",
        "Errors",
        1,
        slos=(Slo("error_rate", "<", 1.0, "%", "error rate < 1%", 2),),
        time_target=TimeTarget(TimeTargetKind.TIME_TO_RESOLVE, "10 minutes", 600.0, 2),
        steps=steps,
    )
    return Runbook(Path("runbook.md"), "Test", (incident,)), incident


def _run(
    tmp_path: Path, *, fixes: bool = True, exit_code: int = 0, strength: str = "full", output: str = "ok"
) -> tuple[Verdict, str, _World]:
    world = _World()
    sandbox = _Sandbox(world, _Runner(world, fixes=fixes, exit_code=exit_code, output=output), tmp_path)
    runbook, incident = _incident()
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        drill = Drill(
            drill_id="d1",
            spec=DrillSpec(system="fake"),
            runbook=runbook,
            incident=incident,
            plan=checks_for_incident(incident, runbook),
            journal=journal,
            settings=FAST,
        )
        drill.start()
        failure: BaseException | None = None
        try:
            drill.provision(lambda _name: sandbox)
            drill.start_traffic(5)
            drill.inject("test-break", {"strength": strength})
            drill.await_breach()
            drill.respond()
            drill.await_restore()
        except DrillOutcome as exc:
            failure = exc
        judgement = drill.finish(failure)
    assert sandbox.closed
    return judgement.verdict, judgement.reason, world


def test_a_runbook_that_fixes_the_fault_passes_and_the_journal_tells_the_whole_story(tmp_path: Path) -> None:
    verdict, reason, world = _run(tmp_path)
    assert verdict is Verdict.PASSED, reason
    types = [event.type for event in read_journal(tmp_path / "journal.jsonl")]
    order = [EventType.DRILL_STARTED, EventType.FAULT_REVERT_RECORDED, EventType.FAULT_INJECTED, EventType.VERDICT]
    assert [t for t in types if t in order] == order
    assert EventType.SLO_BREACHED in types
    assert EventType.SLO_RESTORED in types
    assert types[-1] is EventType.DRILL_FINISHED
    assert world.reverts == 1  # the revert always runs, also after the runbook mended things


def test_a_runbook_that_does_not_fix_the_fault_fails_and_the_fault_is_still_reverted(tmp_path: Path) -> None:
    verdict, reason, world = _run(tmp_path, fixes=False)
    assert verdict is Verdict.FAILED
    assert "not restored" in reason
    assert world.reverts == 1
    assert not world.broken


def test_a_fault_that_never_breaches_makes_the_drill_vacuous(tmp_path: Path) -> None:
    verdict, reason, _ = _run(tmp_path, strength="none")
    assert verdict is Verdict.VACUOUS
    assert "proves nothing" in reason


def test_a_diagnostic_that_shows_the_runbook_is_wrong_fails_the_drill_naming_it(tmp_path: Path) -> None:
    output = 'Error from server (NotFound): deployments.apps "api" not found'
    verdict, reason, _ = _run(tmp_path, exit_code=1, output=output)
    assert verdict is Verdict.FAILED
    assert reason.startswith("step 1 (Look) exited 1: Error from server (NotFound)")


def test_a_diagnostic_that_reports_the_outage_itself_does_not_fail_the_drill(tmp_path: Path) -> None:
    output = "psql: error: FATAL:  sorry, too many clients already"
    verdict, reason, _ = _run(tmp_path, exit_code=2, output=output)
    assert verdict is Verdict.FAILED  # the fix step failed too (same fake output), but not the diagnostic
    assert reason.startswith("step 2 (Fix) exited 2")
