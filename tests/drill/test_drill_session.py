"""A whole drill over a fake sandbox on a fake clock: phases, journal, verdicts, control run and attribution.

Nothing here sleeps: the fake clock advances when the drill waits, and the fake traffic produces the requests
of the time that passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import pytest

from drillbook.drill.control import ControlMode, ControlSettings, FileControlCache
from drillbook.drill.session import Drill, DrillOutcome
from drillbook.drill.settle import SandboxSnapshot
from drillbook.drill.spec import DrillSettings, DrillSpec
from drillbook.errors import FaultNotOnPlatform, SandboxError
from drillbook.faults.base import Fault, JsonValue, RevertRecord, register
from drillbook.faults.target import FaultTarget, TrafficControl, Workload
from drillbook.journal import (
    ControlRun,
    Decision,
    EventType,
    FindingKind,
    JournalWriter,
    Note,
    Phase,
    PhaseChanged,
    PhaseStatus,
    Platform,
    StepFinished,
    ToolVersions,
    Verdict,
    VerdictReached,
    read_journal,
)
from drillbook.runbook.model import Command, Effect, Incident, Runbook, Slo, Step, TimeTarget, TimeTargetKind
from drillbook.slo.checks import checks_for_incident
from drillbook.slo.stats import RequestRecord

FAST = DrillSettings(
    baseline_s=1.0, breach_within_s=3.0, restore_within_s=6.0, hold_s=0.6, window_s=0.5, tick_s=0.25, poll_s=0.05
)
RPS = 200


class FakeClock:
    """Time moves only when someone sleeps (or a command 'runs'); listeners see every step of it."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.listeners: list[Callable[[float, float], None]] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        end = self.now + seconds
        while self.now < end - 1e-9:
            step = min(0.01, end - self.now)
            before = self.now
            self.now += step
            for listener in self.listeners:
                listener(before, self.now)


@dataclass
class _World:
    """The fake system: its error rate over time, as the fault and the runbook leave it."""

    clock: FakeClock
    broken_at: float | None = None
    error_rate: float = 1.0
    heals_after_s: float | None = None
    flap: tuple[float, float] | None = None
    """(bad seconds, quiet seconds) of a flapping fault."""
    fixed_at: float | None = None
    reverts: int = 0
    traffic_delay_s: float | None = 0.0
    """How long the load generator takes to get requests through; None: they never arrive."""
    cold_s: float = 0.0
    """Seconds from the start during which the system fails requests before any fault (a cold start);
    ``inf``: it never works."""

    def __post_init__(self) -> None:
        self.started_at = self.clock.now

    def rate(self, t: float) -> float:
        if t < self.started_at + self.cold_s:
            return self.error_rate
        if self.broken_at is None or (self.fixed_at is not None and t >= self.fixed_at):
            return 0.0
        age = t - self.broken_at
        if self.heals_after_s is not None and age >= self.heals_after_s:
            return 0.0
        if self.flap is not None:
            bad, quiet = self.flap
            return self.error_rate if age % (bad + quiet) < bad else 0.0
        return self.error_rate


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


@dataclass
class _Runner:
    world: _World
    fixes_at_step: int | None = 2
    fix_delay_s: float = 0.0
    step_s: float = 1.0
    results: dict[int, tuple[int, str]] = field(default_factory=dict)
    """Step number → (exit code, output) for commands that do not succeed quietly."""

    def run_step(self, step: Step, *, branch: str | None = None, supplied: str | None = None) -> Sequence[_Outcome]:
        clock = self.world.clock
        started = clock.time()
        clock.sleep(self.step_s)
        if self.fixes_at_step == step.number:
            self.world.fixed_at = clock.time() + self.fix_delay_s
        exit_code, output = self.results.get(step.number, (0, "ok"))
        text = step.commands[0].text if step.commands else step.title
        decision = Decision.RUNS if step.commands else Decision.MANUAL
        if decision is Decision.MANUAL:
            return [_Outcome(text, "", decision, None, "", started, clock.time())]
        return [_Outcome(text, text, decision, exit_code, output, started, clock.time())]


class _Traffic:
    def __init__(self, world: _World, users: int, on_record: Callable[[RequestRecord], None]) -> None:
        self.world, self._users, self.on_record = world, users, on_record
        self.stopped = False
        self._owed = 0.0
        self._errors = 0.0
        delay = world.traffic_delay_s
        self._flows_at = None if delay is None else world.clock.now + delay
        world.clock.listeners.append(self._advance)

    @property
    def users(self) -> int:
        return self._users

    def set_users(self, users: int) -> None:
        self._users = users

    def _advance(self, before: float, now: float) -> None:
        if self.stopped or self._flows_at is None or now < self._flows_at:
            return
        self._owed += (now - before) * RPS
        while self._owed >= 1:
            self._owed -= 1
            self._errors += self.world.rate(now)
            ok = self._errors < 1
            if not ok:
                self._errors -= 1
            self.on_record(RequestRecord(now, "GET /", "GET", 200 if ok else 500, ok, 5.0))

    def stop(self) -> None:
        self.stopped = True


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
        world = self.target.world  # type: ignore[attr-defined]
        if self.text("strength", "full") == "full":
            world.broken_at = world.clock.time()

    def undo(self) -> None:
        world = self.target.world  # type: ignore[attr-defined]
        world.broken_at = None
        world.reverts += 1

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        return


@register
class _Stuck(_Break):
    name: ClassVar[str] = "test-stuck"
    summary: ClassVar[str] = "breaks the fake world until reverted (tests only)"
    persists_until_reverted: ClassVar[bool] = True


@register
class _Leak(_Break):
    name: ClassVar[str] = "test-leak"
    summary: ClassVar[str] = "a leak in the fake world's build (tests only)"
    regrows_after_restart: ClassVar[bool] = True
    deployed: ClassVar[bool] = True
    """Whether the leaking build is still what runs when the watch ends (a rollback would remove it)."""

    def still_in_place(self) -> bool:
        return self.deployed


@register
class _Elsewhere(_Break):
    name: ClassVar[str] = "test-elsewhere"
    summary: ClassVar[str] = "acts on a Deployment this platform does not have (tests only)"

    def revert_record(self) -> RevertRecord:
        raise FaultNotOnPlatform("Redis is a container outside the cluster here")


def _command(text: str, effect: Effect, line: int) -> Command:
    return Command(text, line, "bash", text.split(maxsplit=1)[0], effect)


def _incident(*extra: Step, only: tuple[Step, ...] | None = None) -> tuple[Runbook, Incident]:
    steps = only or (
        Step(1, "Look", "", 3, (_command("kubectl get pods", Effect.READ_ONLY, 4),)),
        Step(2, "Fix", "", 6, (_command("kubectl rollout undo deployment/app", Effect.MUTATING, 7),)),
        *extra,
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


@dataclass
class _Result:
    verdict: Verdict
    reason: str
    world: _World
    journal: list[object]
    fake_seconds: float

    @property
    def event(self) -> VerdictReached:
        return next(e for e in self.journal if isinstance(e, VerdictReached))

    def phase_seconds(self, phase: Phase) -> float:
        marks = [e for e in self.journal if isinstance(e, PhaseChanged) and e.phase is phase]
        start = next(e.t for e in marks if e.status is PhaseStatus.STARTED)
        end = next(e.t for e in marks if e.status is not PhaseStatus.STARTED)
        return end - start


def _run(
    tmp_path: Path,
    *,
    world: Callable[[FakeClock], _World] | None = None,
    runner: Callable[[_World], _Runner] | None = None,
    strength: str = "full",
    steps: tuple[Step, ...] = (),
    control: ControlSettings | None = None,
    cache: FileControlCache | None = None,
    name: str = "d1",
    settings: DrillSettings = FAST,
    spec: DrillSpec | None = None,
    fault: str = "test-break",
    only_steps: tuple[Step, ...] | None = None,
    sandbox_type: type[_Sandbox] = _Sandbox,
    busy: float | None = None,
) -> _Result:
    clock = FakeClock()
    the_world = world(clock) if world else _World(clock)
    the_runner = runner(the_world) if runner else _Runner(the_world)
    sandbox = sandbox_type(the_world, the_runner, tmp_path)
    runbook, incident = _incident(*steps, only=only_steps)
    path = tmp_path / f"{name}.jsonl"
    wall = time.monotonic()
    with JournalWriter(path) as journal:
        drill = Drill(
            drill_id=name,
            spec=spec or DrillSpec(system="fake"),
            runbook=runbook,
            incident=incident,
            plan=checks_for_incident(incident, runbook),
            journal=journal,
            settings=settings,
            clock=clock,
            control=control,
            control_cache=cache,
            host=_BusyHost(clock, busy) if busy is not None else None,
        )
        t0 = clock.monotonic()
        drill.start()
        failure: BaseException | None = None
        try:
            drill.provision(lambda _name: sandbox)
            drill.start_traffic(5)
            drill.inject(fault, {"strength": strength})
            drill.await_breach()
            drill.respond()
            drill.await_restore()
        except DrillOutcome as exc:
            failure = exc
        judgement = drill.finish(failure)
    assert sandbox.closed
    assert time.monotonic() - wall < 20, "the drill must not sleep for real"
    return _Result(judgement.verdict, judgement.reason, the_world, read_journal(path), clock.monotonic() - t0)


class _BusyHost:
    """A 2-core machine whose CPU is ``share`` busy all along, on the fake clock (100 jiffies a second a core)."""

    def __init__(self, clock: FakeClock, share: float) -> None:
        self.clock, self.share, self.start = clock, share, clock.monotonic()

    def read(self) -> tuple[int, int]:
        total = int((self.clock.monotonic() - self.start) * 200)
        return int(total * self.share), total


def test_a_fault_this_platform_cannot_apply_is_inconclusive_with_nothing_applied_and_no_steps_run(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, fault="test-elsewhere")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "not rehearsed on this platform: Redis is a container outside the cluster here" in result.reason
    assert result.world.reverts == 0
    assert not any(isinstance(e, PhaseChanged) and e.phase is Phase.RESPOND for e in result.journal)


def test_a_runbook_that_fixes_the_fault_passes_and_the_journal_tells_the_whole_story(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.verdict is Verdict.PASSED, result.reason
    types = [event.type for event in result.journal]  # type: ignore[attr-defined]
    order = [EventType.DRILL_STARTED, EventType.FAULT_REVERT_RECORDED, EventType.FAULT_INJECTED, EventType.VERDICT]
    assert [t for t in types if t in order] == order
    assert EventType.SLO_BREACHED in types
    assert EventType.SLO_RESTORED in types
    assert types[-1] is EventType.DRILL_FINISHED
    assert result.world.reverts == 1  # the revert always runs, also after the runbook mended things
    assert result.event.attributed_step == 2
    assert result.event.outcome == "restored"


def test_a_restore_while_a_leak_is_still_deployed_passes_and_says_it_may_not_last(tmp_path: Path) -> None:
    result = _run(tmp_path, fault="test-leak")
    assert result.verdict is Verdict.PASSED, result.reason
    assert "Not rehearsed: whether the restore lasts: the test-leak fault is still deployed" in result.reason
    assert "a fresh system breached" in result.reason
    notes = [e.message for e in result.journal if isinstance(e, Note)]
    assert any("the test-leak fault is still deployed" in note for note in notes)


def test_a_restore_after_the_leak_was_rolled_back_has_no_such_caveat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Leak, "deployed", False)
    result = _run(tmp_path, fault="test-leak")
    assert result.verdict is Verdict.PASSED, result.reason
    assert "whether the restore lasts" not in result.reason


def test_a_runbook_that_does_not_fix_the_fault_fails_after_the_full_watch(tmp_path: Path) -> None:
    result = _run(tmp_path, runner=lambda w: _Runner(w, fixes_at_step=None))
    assert result.verdict is Verdict.FAILED
    assert "not restored within 6 s" in result.reason
    assert result.phase_seconds(Phase.RECOVER) >= FAST.restore_within_s
    assert result.world.reverts == 1
    assert result.world.broken_at is None


def test_a_remedy_that_did_not_restore_on_a_saturated_machine_is_inconclusive_and_says_what_the_cpu_showed(
    tmp_path: Path,
) -> None:
    result = _run(tmp_path, runner=lambda w: _Runner(w, fixes_at_step=None), busy=0.95)
    assert result.verdict is Verdict.INCONCLUSIVE, result.reason
    assert "while the machine running the sandbox was out of CPU" in result.reason
    assert "95% busy from t=" in result.reason
    assert "(95% in the baseline)" in result.reason
    assert result.event.outcome == "not observed"
    notes = [e.message for e in result.journal if isinstance(e, Note)]
    assert any(note.startswith("the sandbox's machine was saturated: ") for note in notes)


@pytest.mark.parametrize("busy", [0.5, None], ids=["half-busy", "unread"])
def test_a_remedy_that_did_not_restore_on_a_machine_with_cpu_to_spare_fails(tmp_path: Path, busy: float | None) -> None:
    result = _run(tmp_path, runner=lambda w: _Runner(w, fixes_at_step=None), busy=busy)
    assert result.verdict is Verdict.FAILED, result.reason
    assert "out of CPU" not in result.reason


def test_a_saturated_machine_never_excuses_a_runbook_with_no_remedy_nor_touches_a_restore(tmp_path: Path) -> None:
    prose = Step(3, "Optimise", "Optimise the code", 9, ())
    nothing = _run(tmp_path, runner=lambda w: _Runner(w, fixes_at_step=None), only_steps=(prose,), busy=0.95)
    assert nothing.verdict is Verdict.FAILED, nothing.reason
    assert nothing.event.outcome == "not attempted"
    restored = _run(tmp_path, name="d2", busy=0.95)
    assert restored.verdict is Verdict.PASSED, restored.reason


def test_a_stale_diagnostic_never_cuts_the_watch_short_and_the_drill_passes_with_findings(tmp_path: Path) -> None:
    # RB-008's shape: the diagnostic fails on a renamed column, the fix works but takes a while to show.
    result = _run(
        tmp_path,
        runner=lambda w: _Runner(w, fix_delay_s=3.0, results={1: (1, 'ERROR:  column "mean_time" does not exist')}),
    )
    assert result.verdict is Verdict.PASSED_WITH_FINDINGS, result.reason
    assert [f.kind for f in result.event.findings] == [FindingKind.STALE_COMMAND]
    assert result.event.findings[0].step == 1
    assert result.event.findings[0].line == 4
    assert "stale-command in step 1" in result.reason


def test_a_failing_action_fails_the_drill_naming_it(tmp_path: Path) -> None:
    output = 'The Deployment "app" is invalid: spec.template.spec.restartPolicy: Unsupported value: "OnFailure"'
    result = _run(tmp_path, runner=lambda w: _Runner(w, fixes_at_step=None, results={2: (1, output)}))
    assert result.verdict is Verdict.FAILED
    assert "step 2 failed: step 2 (Fix) exited 1" in result.reason
    assert [f.kind for f in result.event.findings] == [FindingKind.INVALID_ACTION]


def test_a_diagnostic_that_reports_the_outage_itself_is_no_finding(tmp_path: Path) -> None:
    output = "psql: error: FATAL:  sorry, too many clients already"
    result = _run(tmp_path, runner=lambda w: _Runner(w, results={1: (2, output)}))
    assert result.verdict is Verdict.PASSED, result.reason
    assert result.event.findings == []


def test_a_fault_that_never_breaches_makes_the_drill_vacuous(tmp_path: Path) -> None:
    result = _run(tmp_path, strength="none")
    assert result.verdict is Verdict.VACUOUS
    assert "proves nothing" in result.reason


def test_a_weak_breach_is_vacuous_not_judged(tmp_path: Path) -> None:
    # 1.3 % errors against a 1 % SLO, a fault that never fails most windows: no margin.
    result = _run(
        tmp_path,
        world=lambda c: _World(c, error_rate=0.013, flap=(0.5, 1.5)),
        runner=lambda w: _Runner(w, fixes_at_step=None),
    )
    assert result.verdict is Verdict.VACUOUS, result.reason
    assert "only weakly" in result.reason


def test_a_runbook_whose_steps_do_nothing_is_never_passed(tmp_path: Path) -> None:
    prose = Step(3, "Optimise", "Optimise the code", 9, ())
    result = _run(tmp_path, runner=lambda w: _Runner(w, fixes_at_step=None), steps=(prose,))
    assert result.verdict is Verdict.FAILED
    kinds = {f.kind for f in result.event.findings}
    assert FindingKind.NO_EFFECT in kinds  # step 2 ran, the SLOs never moved
    assert FindingKind.PROSE_ONLY in kinds
    assert [u.step for u in result.event.unrehearsed] == [3]


def test_a_flapping_fault_must_hold_longer_than_its_quiet_gaps(tmp_path: Path) -> None:
    # Bad for 1 s, quiet for 1.5 s: the plain 0.6 s hold would call a quiet gap "restored". Once a relapse has
    # been seen (the response ends in the second bad spell), the hold must outlast twice the quiet gap.
    result = _run(
        tmp_path,
        world=lambda c: _World(c, flap=(1.0, 1.5)),
        runner=lambda w: _Runner(w, fixes_at_step=None, step_s=1.5),
    )
    assert result.verdict is Verdict.FAILED, result.reason
    assert any(e.type is EventType.SLO_RESTORED for e in result.journal)  # type: ignore[attr-defined]
    assert result.event.time_to_restore_s is None


def test_a_flapping_fault_that_the_runbook_fixes_is_restored_after_the_longer_hold(tmp_path: Path) -> None:
    result = _run(
        tmp_path, world=lambda c: _World(c, flap=(1.0, 1.5)), runner=lambda w: _Runner(w, fix_delay_s=1.0, step_s=1.5)
    )
    assert result.verdict is Verdict.PASSED, result.reason
    notes = [e.message for e in result.journal if getattr(e, "message", "").startswith("restored at")]  # type: ignore[attr-defined]
    assert len(notes) == 1
    required = float(notes[0].split("required hold ")[1].split(" s")[0])
    assert required >= 2 * 0.75  # twice the quiet gap as the monitor saw it (1.5 s less a window and the lag)


def test_attribution_credits_the_action_after_which_the_trend_turned(tmp_path: Path) -> None:
    # Step 2 does nothing, step 3 fixes: the restore is step 3's, step 2 had no effect.
    step3 = Step(3, "Really fix", "", 9, (_command("kubectl scale deployment/app --replicas=5", Effect.MUTATING, 10),))
    result = _run(tmp_path, steps=(step3,), runner=lambda w: _Runner(w, fixes_at_step=3, step_s=1.5))
    assert result.verdict is Verdict.PASSED, result.reason
    assert result.event.attributed_step == 3
    assert "step 3 (Really fix)" in result.event.attribution
    assert [(f.kind, f.step) for f in result.event.findings] == [(FindingKind.NO_EFFECT, 2)]


def test_attribution_never_credits_a_prose_step(tmp_path: Path) -> None:
    prose = Step(3, "Optimise code", "Optimise the code", 9, ())
    result = _run(tmp_path, steps=(prose,), runner=lambda w: _Runner(w, fix_delay_s=0.5))
    assert result.verdict is Verdict.PASSED, result.reason
    assert result.event.attributed_step == 2


def test_a_system_that_heals_itself_is_vacuous_by_the_control_run(tmp_path: Path) -> None:
    control = ControlSettings(ControlMode.ONCE, window_s=5.0)
    result = _run(tmp_path, world=lambda c: _World(c, heals_after_s=1.5), control=control)
    assert result.verdict is Verdict.VACUOUS, result.reason
    assert "self-healing" in result.reason
    run = next(e for e in result.journal if isinstance(e, ControlRun))
    assert run.self_healed is True
    assert run.cached is False
    assert run.restored_after_s is not None
    assert run.restored_after_s < 5.0
    assert result.phase_seconds(Phase.CONTROL) < 5.0  # decided early: healed and held


def test_the_control_outcome_is_cached_for_the_run_and_reused(tmp_path: Path) -> None:
    control = ControlSettings(ControlMode.ONCE, window_s=4.0)
    cache = FileControlCache(tmp_path / "control-cache.json")
    first = _run(tmp_path, control=control, cache=cache, name="first")
    second = _run(tmp_path, control=control, cache=cache, name="second")
    assert first.verdict is second.verdict is Verdict.PASSED
    runs = [next(e for e in r.journal if isinstance(e, ControlRun)) for r in (first, second)]
    assert [(r.cached, r.self_healed) for r in runs] == [(False, False), (True, False)]
    assert runs[1].source == "first"
    # A fault that does not heal costs the window until a heal could no longer hold inside it.
    assert first.phase_seconds(Phase.CONTROL) >= 4.0 - FAST.hold_s - FAST.tick_s - FAST.poll_s
    assert second.fake_seconds < first.fake_seconds - 3.0  # the cached one did not wait
    assert not any(isinstance(e, PhaseChanged) and e.phase is Phase.CONTROL for e in second.journal)


@pytest.mark.parametrize(("heals_after_s", "self_healed"), [(None, False), (2.0, True), (3.5, True), (3.8, False)])
def test_the_control_ends_once_no_self_heal_could_hold_inside_its_window_with_the_outcome_of_the_whole_window(
    tmp_path: Path, heals_after_s: float | None, self_healed: bool
) -> None:
    # Heals at 3.5 s come back 3.7 s into the 6 s window and hold 2 s just inside it; at 3.8 s, they cannot: waiting
    # the window out says "no self-heal" for those as for a fault that never heals, and so does the early end.
    settings = replace(FAST, hold_s=2.0, restore_within_s=10.0)
    control = ControlSettings(ControlMode.ONCE, window_s=6.0)
    result = _run(tmp_path, world=lambda c: _World(c, heals_after_s=heals_after_s), control=control, settings=settings)
    run = next(e for e in result.journal if isinstance(e, ControlRun))
    assert run.self_healed is self_healed, run.detail
    assert result.verdict is (Verdict.VACUOUS if self_healed else Verdict.PASSED), result.reason
    if not self_healed:
        assert "decided then: a self-heal could no longer hold 2.0 s inside the 6 s window" in run.detail
        assert result.phase_seconds(Phase.CONTROL) < 6.0 - 1.5  # not the whole window


def test_always_runs_the_control_in_every_drill(tmp_path: Path) -> None:
    control = ControlSettings(ControlMode.ALWAYS, window_s=2.0)
    cache = FileControlCache(tmp_path / "control-cache.json")
    _run(tmp_path, control=control, cache=cache, name="first")
    second = _run(tmp_path, control=control, cache=cache, name="second")
    run = next(e for e in second.journal if isinstance(e, ControlRun))
    assert run.cached is False


def test_a_control_switched_off_is_recorded(tmp_path: Path) -> None:
    result = _run(tmp_path, control=ControlSettings(ControlMode.OFF))
    run = next(e for e in result.journal if isinstance(e, ControlRun))
    assert run.mode == "off"
    assert run.self_healed is None


@pytest.mark.parametrize(("mode", "window"), [("Once", None), ("always", "8"), ("off", 3.5)])
def test_control_settings_come_from_ini_text(mode: str, window: str | float | None) -> None:
    settings = ControlSettings.parse(mode, window)
    assert settings.mode.value == mode.lower()


def test_a_bad_control_mode_names_the_allowed_ones() -> None:
    from drillbook.errors import UsageError

    with pytest.raises(UsageError, match="off, once, always"):
        ControlSettings.parse("sometimes")


def test_traffic_that_arrives_late_is_waited_for_so_the_baseline_judges_the_system(tmp_path: Path) -> None:
    result = _run(tmp_path, world=lambda clock: _World(clock, traffic_delay_s=FAST.baseline_s * 3))
    assert result.verdict is Verdict.PASSED, result.reason


def test_traffic_that_never_flows_is_drillbooks_error_not_an_invalid_scenario(tmp_path: Path) -> None:
    result = _run(tmp_path, world=lambda clock: _World(clock, traffic_delay_s=None))
    assert result.verdict is Verdict.ERROR
    assert "traffic never reached the app" in result.reason


def test_follow_up_steps_and_drills_yaml_overrides_are_the_drills_and_stay_out_of_the_projected_mttr(
    tmp_path: Path,
) -> None:
    review = Command("Review the pool size with the team.", 13, "prose", "", Effect.MANUAL)
    prevention = Step(3, "Prevention", "Review the pool size with the team.", 12, (review,))
    plain = _run(tmp_path, steps=(prevention,), name="plain")
    spec = DrillSpec(
        system="fake",
        follow_up_steps=frozenset({3}),
        overrides=("the time target 10 minutes is the drill's, not the runbook's (drills.yaml:3)",),
    )
    judged = _run(tmp_path, steps=(prevention,), name="judged", spec=spec)
    assert judged.verdict is Verdict.PASSED, judged.reason
    assert plain.event.projected_mttr_s is not None
    assert judged.event.projected_mttr_s is not None
    assert plain.event.projected_mttr_s - judged.event.projected_mttr_s == pytest.approx(180.0, abs=5.0)
    notes = [e.message for e in judged.journal if isinstance(e, Note)]
    assert "override: the time target 10 minutes is the drill's, not the runbook's (drills.yaml:3)" in notes
    assert "steps 3 are follow-up work: not counted in the projected MTTR" in notes


def test_a_cold_start_that_settles_in_the_baseline_is_not_an_invalid_scenario(tmp_path: Path) -> None:
    result = _run(tmp_path, world=lambda clock: _World(clock, cold_s=FAST.baseline_s * 0.8))
    assert result.verdict is Verdict.PASSED, result.reason
    notes = [e.message for e in result.journal if getattr(e, "type", None) is EventType.NOTE]  # type: ignore[attr-defined]
    assert any("settled after" in note for note in notes), notes


def test_a_system_that_never_settles_before_the_fault_is_invalid_and_says_how_long_it_waited(tmp_path: Path) -> None:
    result = _run(tmp_path, world=lambda clock: _World(clock, cold_s=float("inf")))
    assert result.verdict is Verdict.INVALID, result.reason
    assert "still not settled" in result.reason


# -- a watch decided early: nothing left can restore the SLOs -----------------------------------------------------

DIAGNOSE_ONLY = (
    Step(1, "Look", "", 3, (_command("kubectl get pods", Effect.READ_ONLY, 4),)),
    Step(2, "Escalate", "Page the database team", 6, ()),
)
ONCE = ControlSettings(ControlMode.ONCE, window_s=2.0)
SLOW = replace(FAST, restore_within_s=30.0)


def _idle(world: _World) -> _Runner:
    return _Runner(world, fixes_at_step=None)


def _recover_notes(result: _Result) -> list[str]:
    return [e.message for e in result.journal if getattr(e, "message", "").startswith("recovery watch ended early")]  # type: ignore[attr-defined]


def test_a_persistent_fault_nothing_acted_on_ends_the_watch_early_with_the_same_verdict(tmp_path: Path) -> None:
    same = {"only_steps": DIAGNOSE_ONLY, "control": ONCE, "settings": SLOW, "runner": _idle}
    early = _run(tmp_path, fault="test-stuck", name="early", **same)  # type: ignore[arg-type]
    full = _run(tmp_path, fault="test-break", name="full", **same)  # type: ignore[arg-type]
    assert early.verdict is full.verdict is Verdict.FAILED, early.reason
    assert early.event.outcome == full.event.outcome == "not attempted"
    assert [f.kind for f in early.event.findings] == [f.kind for f in full.event.findings]
    assert full.phase_seconds(Phase.RECOVER) >= SLOW.restore_within_s  # a fault that may lift: the full watch
    assert early.phase_seconds(Phase.RECOVER) < 1.0
    assert len(_recover_notes(early)) == 1
    assert "persists until reverted" in early.reason
    assert "nothing could restore the SLOs within 30 s" in early.reason
    assert "the SLOs were not restored within 30 s" in full.reason
    assert early.world.reverts == 1


def test_an_action_that_ran_keeps_the_watch_open_even_when_it_failed(tmp_path: Path) -> None:
    # A failed `kubectl apply` may have applied half of its objects: its effect can still show.
    result = _run(
        tmp_path,
        fault="test-stuck",
        control=ONCE,
        settings=SLOW,
        runner=lambda w: _Runner(w, fixes_at_step=None, results={2: (1, "error: one of two objects failed")}),
    )
    assert result.phase_seconds(Phase.RECOVER) >= SLOW.restore_within_s
    assert _recover_notes(result) == []


def test_a_late_effect_of_an_action_is_still_seen_by_the_watch(tmp_path: Path) -> None:
    # The fix takes 10 s to show after its step: a watch cut after the steps would fail a runbook that works.
    result = _run(
        tmp_path, fault="test-stuck", control=ONCE, settings=SLOW, runner=lambda w: _Runner(w, fix_delay_s=10.0)
    )
    assert result.verdict is Verdict.PASSED, result.reason


def test_a_tool_of_unknown_effect_keeps_the_watch_open(tmp_path: Path) -> None:
    steps = (Step(1, "Run the fix script", "", 3, (_command("./scripts/fix.sh", Effect.UNKNOWN, 4),)),)
    result = _run(tmp_path, fault="test-stuck", only_steps=steps, control=ONCE, settings=SLOW, runner=_idle)
    assert result.phase_seconds(Phase.RECOVER) >= SLOW.restore_within_s


def test_without_a_control_run_nothing_is_known_and_the_watch_runs_to_the_deadline(tmp_path: Path) -> None:
    off = ControlSettings(ControlMode.OFF)
    result = _run(tmp_path, fault="test-stuck", only_steps=DIAGNOSE_ONLY, control=off, runner=_idle)
    assert result.verdict is Verdict.FAILED
    assert result.phase_seconds(Phase.RECOVER) >= FAST.restore_within_s


def test_a_signal_that_lifted_once_keeps_the_watch_open(tmp_path: Path) -> None:
    # A flapping fault (bad 1 s, quiet 1.5 s): a quiet spell could grow into a hold, so the outcome stays open.
    result = _run(
        tmp_path,
        world=lambda c: _World(c, flap=(1.0, 1.5)),
        fault="test-stuck",
        only_steps=DIAGNOSE_ONLY,
        control=ONCE,
        settings=SLOW,
        runner=_idle,
    )
    assert _recover_notes(result) == []
    assert result.phase_seconds(Phase.RECOVER) >= SLOW.restore_within_s


# -- a watch decided early after actions that did not help: the sandbox settled, the SLOs stayed breached ---------


class _ProbedSandbox(_Sandbox):
    """A sandbox with a change probe: at rest unless ``changes`` says otherwise at the fake clock's time."""

    changes: ClassVar[Callable[[float], str | None]] = staticmethod(lambda _t: None)
    """Fake-clock seconds since the world began → why it is changing (a new fingerprint each probe), or None."""
    fails: ClassVar[bool] = False

    probes: int = 0

    def change_fingerprint(self) -> SandboxSnapshot:
        self.probes += 1
        if self.fails:
            raise SandboxError("the sandbox's objects could not be listed: ApiException: (503)")
        why = self.changes(self.world.clock.now - self.world.started_at)
        if why is not None:
            return SandboxSnapshot(f"changing-{self.probes}", (why,))
        return SandboxSnapshot("at-rest")


class _CrashloopingSandbox(_ProbedSandbox):
    changes = staticmethod(lambda _t: "pod default/app-1, container app: waiting (CrashLoopBackOff)")


class _UnreadableSandbox(_ProbedSandbox):
    fails = True


class _RollingSandbox(_ProbedSandbox):
    """A rollout the step started that goes on for 10 s after the steps (the fix lands when it completes)."""

    changes = staticmethod(lambda t: "deployment default/app: 1 of 2 replicas updated" if t < 25.0 else None)


class _LateRestSandbox(_ProbedSandbox):
    """Busy until a second before the watch's deadline (a scale-out whose last pods start late)."""

    changes = staticmethod(lambda t: "deployment default/app: 19 ready of 20 replicas" if t < 34.0 else None)


SETTLING = {"fault": "test-stuck", "control": ONCE, "settings": SLOW}


def test_a_settled_sandbox_whose_action_did_not_help_ends_the_watch_early_with_the_same_verdict(tmp_path: Path) -> None:
    early = _run(tmp_path, name="early", runner=_idle, sandbox_type=_ProbedSandbox, **SETTLING)  # type: ignore[arg-type]
    full = _run(tmp_path, name="full", runner=_idle, **SETTLING)  # type: ignore[arg-type]  # no probe: the full watch
    assert early.verdict is full.verdict is Verdict.FAILED, early.reason
    assert early.event.outcome == full.event.outcome == "not restored"
    assert sorted(f.kind for f in early.event.findings) == sorted(f.kind for f in full.event.findings)
    assert full.phase_seconds(Phase.RECOVER) >= SLOW.restore_within_s
    # Settle window: max(2 s control, 2 x 0.6 s hold) after the last action, plus a probe and a poll.
    assert early.phase_seconds(Phase.RECOVER) < 4.0
    [note] = _recover_notes(early)
    assert "of the 30 s watch: nothing the scenario deployed has changed since t=" in note
    assert "the last action ended at t=" in note
    assert "stayed breached throughout" in note
    assert "the control run saw no self-healing in 2 s" in note
    assert "the SLOs were not restored within 30 s after its steps (decided after" in early.reason
    assert any("the sandbox was not at rest (it has no change probe" in m for m in _notes(full))


@pytest.mark.parametrize(
    ("sandbox", "why"),
    [
        (_CrashloopingSandbox, "not at rest (pod default/app-1, container app: waiting (CrashLoopBackOff))"),
        (_UnreadableSandbox, "not at rest (its change probe failed (the sandbox's objects could not be listed"),
        (_LateRestSandbox, "s had not passed"),
    ],
    ids=["crashloop", "probe-error", "at-rest-too-late"],
)
def test_a_sandbox_still_changing_or_unreadable_keeps_the_watch_to_its_deadline(
    tmp_path: Path, sandbox: type[_Sandbox], why: str
) -> None:
    result = _run(tmp_path, runner=_idle, sandbox_type=sandbox, **SETTLING)  # type: ignore[arg-type]
    assert result.verdict is Verdict.FAILED
    assert _recover_notes(result) == []
    assert result.phase_seconds(Phase.RECOVER) >= SLOW.restore_within_s
    assert any(why in message for message in _notes(result))


def test_a_rollout_that_lands_the_fix_after_the_steps_is_watched_until_it_restores(tmp_path: Path) -> None:
    # The fix shows 10 s after its step, while the rollout it started is still going: the watch must wait for it.
    result = _run(
        tmp_path,
        runner=lambda w: _Runner(w, fix_delay_s=10.0),
        sandbox_type=_RollingSandbox,
        **SETTLING,  # type: ignore[arg-type]
    )
    assert result.verdict is Verdict.PASSED, result.reason
    assert _recover_notes(result) == []


def test_a_restore_that_relapses_inside_the_settle_window_keeps_the_watch_going(tmp_path: Path) -> None:
    # A flapping fault (bad 1 s, quiet 1.5 s) on a sandbox at rest: quiet windows keep the outcome open.
    result = _run(
        tmp_path,
        world=lambda c: _World(c, flap=(1.0, 1.5)),
        runner=_idle,
        sandbox_type=_ProbedSandbox,
        **SETTLING,  # type: ignore[arg-type]
    )
    assert _recover_notes(result) == []
    assert result.phase_seconds(Phase.RECOVER) >= SLOW.restore_within_s
    assert any("the SLOs were not seen breached in every window" in message for message in _notes(result))


def _notes(result: _Result) -> list[str]:
    return [e.message for e in result.journal if isinstance(e, Note)]


class _JournaledSandbox(_Sandbox):
    def bringup_summary(self) -> str:
        return "undone: cluster 0.4 s" if self.closed else "cluster 1.5 s, deploy 0.3 s"


def test_the_sandboxs_bring_up_and_teardown_actions_are_noted_in_the_journal(tmp_path: Path) -> None:
    from drillbook.journal import Note

    result = _run(tmp_path, sandbox_type=_JournaledSandbox)
    notes = [e.message for e in result.journal if isinstance(e, Note)]
    assert "bring-up: cluster 1.5 s, deploy 0.3 s" in notes
    assert "teardown: undone: cluster 0.4 s" in notes


@dataclass
class _Ended:
    step: int

    def describe(self) -> str:
        return f"step {self.step}: `kubectl port-forward svc/app 8080` ran in the background and was ended"


@dataclass
class _BackgroundRunner(_Runner):
    """A runner that kept step 1's port-forward running; ``fails_at`` makes that step raise."""

    ended: int = 0
    fails_at: int | None = None

    def run_step(self, step: Step, *, branch: str | None = None, supplied: str | None = None) -> Sequence[_Outcome]:
        if step.number == self.fails_at:
            raise KeyboardInterrupt
        return super().run_step(step, branch=branch, supplied=supplied)

    def end_background(self) -> list[_Ended]:
        self.ended += 1
        return [_Ended(1)]


def test_what_the_steps_left_running_in_the_background_is_ended_when_they_end_and_journaled(tmp_path: Path) -> None:
    runners: list[_BackgroundRunner] = []

    def runner(world: _World) -> _BackgroundRunner:
        runners.append(_BackgroundRunner(world))
        return runners[-1]

    result = _run(tmp_path, runner=runner)

    assert runners[0].ended == 1
    notes = [e for e in result.journal if isinstance(e, Note) and "ran in the background" in e.message]
    assert len(notes) == 1
    finished = [e for e in result.journal if isinstance(e, StepFinished)]
    respond_end = next(
        e for e in result.journal
        if isinstance(e, PhaseChanged) and e.phase is Phase.RESPOND and e.status is PhaseStatus.FINISHED
    )  # fmt: skip
    assert finished[-1].t <= notes[0].t <= respond_end.t


def test_an_interrupted_response_still_ends_its_background_commands(tmp_path: Path) -> None:
    runners: list[_BackgroundRunner] = []

    def runner(world: _World) -> _BackgroundRunner:
        runners.append(_BackgroundRunner(world, fails_at=2))
        return runners[-1]

    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, runner=runner)
    assert runners[0].ended == 1
