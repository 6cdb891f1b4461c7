"""One drill: provision → baseline → inject → breach → (control) → respond → recover → verdict → revert.

Every phase runs on one stopwatch (an injected :class:`~drillbook.drill.clock.Clock`) and is journaled as it
happens. Gherkin steps call the phase methods in order; :meth:`Drill.finish` always runs (from the fixture's
teardown) and guarantees the fault is reverted, traffic stopped, the sandbox closed and a verdict journaled —
also when a step failed, the sandbox broke or the run was interrupted.

Recovery is watched until the SLOs are restored and held, or until the recovery deadline, whatever any step
did: a stale diagnostic never cuts the watch short. The one other end is a decided outcome: the fault persists
until reverted (it says so: ``Fault.persists_until_reverted``), no command that ran could have acted on the system,
the breach never lifted for a moment since it began, and the control run saw no self-healing; then nothing is
left that could restore the SLOs before the deadline, and waiting it out would only cost time. When actions did
run, the same holds once the sandbox has *settled*: nothing it deployed changed and the SLOs stayed breached for a
whole settle window after the last action (:mod:`drillbook.drill.settle`).

"Held" means every breached check has passed on every window for ``max(hold_s, relapse_hold_factor × the longest
quiet gap seen between failing windows)``, so a lull between two crashes of a flapping fault is not taken for
recovery.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from drillbook.drill import events
from drillbook.drill.attribution import (
    Action,
    Attribution,
    Sample,
    attribute,
    breach_margin,
    longest_relapse_gap,
    severity,
)
from drillbook.drill.clock import Clock, SystemClock
from drillbook.drill.control import (
    ControlCache,
    ControlMode,
    ControlResult,
    ControlSettings,
    MemoryControlCache,
    control_key,
)
from drillbook.drill.host import HostCpu, HostLoad
from drillbook.drill.ports import (
    AlertRuleLoader,
    BackgroundCommands,
    BringUpReport,
    ChangeProbe,
    CommandOutcome,
    PrometheusQueries,
    Sandbox,
    SandboxFactory,
    SloWindowSource,
    StepRunner,
    Traffic,
)
from drillbook.drill.projection import Projection, ProjectionSettings, project, resolution_target
from drillbook.drill.settle import Settled, SettleEvidence, SettleTracker, settle_window_s, settled_and_breached
from drillbook.drill.spec import DrillSettings, DrillSpec
from drillbook.drill.verdict import (
    AlertSeen,
    CommandResult,
    Control,
    Judgement,
    Observations,
    Verdict,
    is_action,
    judge,
)
from drillbook.errors import DrillbookError, FaultInjectionError, FaultNotOnPlatform, SandboxError, ScenarioError
from drillbook.faults.base import Fault, RevertRecord, fault_class
from drillbook.journal import Decision, Finding, FindingKind, JournalWriter, Phase, PhaseStatus, Whose
from drillbook.runbook.model import Command, Incident, Runbook, Step
from drillbook.slo.alerts import AlertEvaluation, alert_rules, evaluate_alert
from drillbook.slo.checks import Check, CheckPlan, CheckStatus
from drillbook.slo.monitor import Breach, Monitor, MonitorEvent, MonitorSettings, Restore
from drillbook.slo.promql import DEFAULT_RATE_WINDOW_S, PromQuery
from drillbook.slo.stats import WindowStats

Progress = Callable[[str], None]

DECIDED_EARLY = frozenset({Verdict.ERROR, Verdict.INVALID, Verdict.VACUOUS})
"""Verdicts a phase can reach before the response; the drill stops there (raising :class:`DrillOutcome`)."""


class DrillOutcome(DrillbookError):
    """Raised by a phase when the drill's verdict is already decided (vacuous, invalid, error) or is not a pass."""

    def __init__(self, judgement: Judgement) -> None:
        super().__init__(f"{judgement.verdict.value}: {judgement.reason}")
        self.judgement = judgement


@dataclass
class StepRecord:
    """What one runbook step did."""

    step: Step
    outcomes: Sequence[CommandOutcome]
    ended: float


@dataclass
class _State:
    sandbox: Sandbox | None = None
    traffic: Traffic | None = None
    fault: Fault | None = None
    t_inject: float | None = None
    t_respond: float | None = None
    t_respond_end: float | None = None
    t_watch_end: float | None = None
    breach: Breach | None = None
    restores: list[Restore] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    baseline_held: bool = True
    baseline_detail: str = ""
    events_at_baseline_end: int = 0
    """Monitor events before this index belong to the baseline (a settled cold start), not to the fault."""
    sandbox_error: str | None = None
    fault_not_on_platform: str | None = None
    judgement: Judgement | None = None
    projection: Projection | None = None
    restore_t: float | None = None
    """Stopwatch time the SLOs came back, once they also held (the drill's decided restore)."""
    held_s: float = 0.0
    not_held: str | None = None
    watch_decided: str = ""
    """Why the recovery watch ended before its deadline (see :meth:`Drill._not_restorable`)."""
    fault_remains: str = ""
    """Why a held restore may not last: a leak still deployed (see :meth:`Drill._fault_remains`)."""
    baseline_span: tuple[float, float] | None = None
    """Stopwatch start and end of the baseline (how busy the machine was before the fault)."""
    host_saturated: str = ""
    """What the machine's CPU showed when the SLOs stayed breached while it was saturated (see
    :meth:`Drill._host_saturated`)."""
    settle: SettleTracker = field(default_factory=SettleTracker)
    """Whether the sandbox has been at rest since the steps ended (its change probe, polled by the watch)."""
    settle_probed_at: float | None = None
    control: Control | None = None
    attribution: Attribution | None = None
    alerts: list[AlertEvaluation] = field(default_factory=list)
    """The incident's alert rules evaluated on the sandbox's Prometheus (for the verdict's findings)."""
    alert_rules: dict[int, str] = field(default_factory=dict)
    """Index in ``incident.alerts`` → the alerting rule loaded for it into the sandbox's Prometheus."""
    alerts_evaluated: bool = False


class Drill:
    """The phases of one drill over one incident of one runbook."""

    def __init__(
        self,
        *,
        drill_id: str,
        spec: DrillSpec,
        runbook: Runbook,
        incident: Incident,
        plan: CheckPlan,
        journal: JournalWriter,
        settings: DrillSettings | None = None,
        projection: ProjectionSettings | None = None,
        progress: Progress | None = None,
        clock: Clock | None = None,
        control: ControlSettings | None = None,
        control_cache: ControlCache | None = None,
        host: HostCpu | None = None,
    ) -> None:
        self.drill_id = drill_id
        self.spec = spec
        self.runbook = runbook
        self.incident = incident
        self.plan = plan
        self.journal = journal
        self.settings = settings or DrillSettings()
        self.projection_settings = projection or ProjectionSettings()
        self.control_settings = control or ControlSettings(ControlMode.OFF)
        self.control_cache = control_cache or MemoryControlCache()
        self.clock = clock or SystemClock()
        self._progress = progress or (lambda _message: None)
        self._wall0 = self.clock.time()
        self._mono0 = self.clock.monotonic()
        self.state = _State()
        self.host_load = HostLoad(host)
        """The machine's CPU on the drill's stopwatch (``host=None``: not read, never called saturated)."""
        self.monitor = Monitor(
            plan.checks,
            MonitorSettings(
                window_s=self.settings.window_s,
                hold_s=self.settings.hold_s,
                tick_s=self.settings.tick_s,
                lag_s=self.settings.tick_s,
                min_requests=self.settings.min_requests,
            ),
            clock=self.clock.time,
            on_stats=self._on_stats,
            on_event=self._on_event,
        )

    # -- the stopwatch ------------------------------------------------------------------------------------

    def t(self, epoch: float | None = None) -> float:
        """Seconds on this drill's stopwatch (now, or at a wall-clock epoch time)."""
        if epoch is None:
            return self.clock.monotonic() - self._mono0
        return epoch - self._wall0

    def say(self, message: str) -> None:
        """Progress for the person watching the game day."""
        self._progress(f"[{self.spec.system} {self.incident.id} t={self.t():5.1f}s] {message}")

    @contextlib.contextmanager
    def phase(self, phase: Phase, detail: str = "") -> Iterator[None]:
        """Journal a phase's start and its end (finished, or failed with the error)."""
        self.journal.write(events.phase(self, phase, PhaseStatus.STARTED, detail))
        try:
            yield
        except BaseException as exc:
            self.journal.write(events.phase(self, phase, PhaseStatus.FAILED, str(exc)[:500]))
            raise
        self.journal.write(events.phase(self, phase, PhaseStatus.FINISHED, detail))

    # -- phases -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Journal the drill's start: what it rehearses and against which target."""
        self.journal.write(events.drill_started(self, _sha256(self.runbook)))
        for skipped in self.plan.not_measurable:
            self.journal.write(events.note(self, f"not checked: {skipped.text} ({skipped.reason})"))
        for override in self.spec.overrides:
            self.journal.write(events.note(self, f"override: {override}"))
        if self.spec.follow_up_steps:
            numbers = ", ".join(str(n) for n in sorted(self.spec.follow_up_steps))
            self.journal.write(
                events.note(self, f"steps {numbers} are follow-up work: not counted in the projected MTTR")
            )
        target = self.incident.time_target
        if target is not None and resolution_target(self.incident) is None:
            self.journal.write(
                events.note(
                    self,
                    f"the runbook's time target is a response SLA ({target.text}): a time to respond, not to "
                    "resolve, so the projected MTTR is not judged against it",
                )
            )

    def provision(self, factory: SandboxFactory) -> Sandbox:
        """Bring the system up."""
        with self.phase(Phase.PROVISION, self.spec.system):
            self.say(f"provisioning {self.spec.system}")
            try:
                sandbox = factory(self.spec.system)
            except DrillbookError as exc:
                for note in getattr(exc, "__notes__", []):  # platform/bringup: what was done and undone
                    if note.startswith("bring-up: "):
                        self.journal.write(events.note(self, note))
                self._sandbox_failed(str(exc))
                raise
            self.state.sandbox = sandbox
            if isinstance(sandbox, BringUpReport):
                self.journal.write(events.note(self, f"bring-up: {sandbox.bringup_summary()}"))
            # -- slo_source: prometheus (platform/prometheus): the sandbox may judge windows as PromQL --------
            if isinstance(sandbox, SloWindowSource) and (source := sandbox.slo_window_source()) is not None:
                self.monitor.window_source = source
                self.journal.write(events.note(self, "SLOs are read as PromQL from the sandbox's Prometheus"))
            self._load_alert_rules(sandbox)
            self.say(f"{self.spec.system} is up on the {sandbox.platform_label}")
        return sandbox

    def start_traffic(self, users: int) -> None:
        """Steady user traffic against the system, feeding the SLO monitor."""
        self.spec.users = users
        sandbox = self._sandbox()
        try:
            self.state.traffic = sandbox.start_traffic(users, self.monitor.record)
        except DrillbookError as exc:
            self._sandbox_failed(f"traffic could not start: {exc}")
        self.say(f"traffic: {users} users against {sandbox.app_url}")

    def baseline(self) -> None:
        """The SLOs must hold before the fault, or nothing later means anything."""
        with self.phase(Phase.BASELINE):
            self._require_traffic()
            self._await_traffic()
            self.say(f"baseline: {self.settings.baseline_s:.0f}s of traffic must meet {self._checks_text()}")
            start = self.clock.monotonic()
            t_start = self.t()
            end = start + self.settings.baseline_s
            settle_end = end + self.settings.baseline_settle_s
            saw_data = False
            while True:
                self._sleep()
                saw_data = saw_data or any(s.requests > 0 for s in self.monitor.history)
                now = self.clock.monotonic()
                if now < end:
                    continue
                settled = saw_data and not self.monitor.breached and not self._baseline_failing()
                if settled or now >= settle_end:
                    break
            if not saw_data or self._baseline_failing() or self.monitor.breached:
                detail = "no requests completed" if not saw_data else _describe_states(self.monitor)
                if saw_data:
                    detail += f"; still not settled {self.clock.monotonic() - start:.0f} s into the baseline"
                self.state.baseline_held = False
                self.state.baseline_detail = detail
                self._decide()
            elif self.clock.monotonic() > end + self.settings.poll_s:
                self.journal.write(
                    events.note(
                        self,
                        f"baseline: an early window breached and the system settled after "
                        f"{self.clock.monotonic() - start:.1f} s (the SLOs then held for their hold time)",
                    )
                )
            self.state.events_at_baseline_end = len(self.monitor.events)
            self.state.baseline_span = (t_start, self.t())

    def _baseline_failing(self) -> bool:
        return any(s.breached or s.status is None for s in self.monitor.states())

    def _await_traffic(self) -> None:
        """Wait until a monitor window holds real traffic, so the baseline judges the system, not the load
        generator's start-up."""
        deadline = self.clock.monotonic() + self.settings.traffic_within_s
        while not any(s.requests >= self.settings.min_requests for s in self.monitor.history):
            if self.clock.monotonic() >= deadline:
                self._sandbox_failed(
                    f"traffic never reached the app: no {self.settings.window_s:.0f} s window held "
                    f"{self.settings.min_requests} requests within {self.settings.traffic_within_s:.0f} s of starting "
                    "it (is the app's Service answering? see the sandbox's logs)"
                )
                return
            self._sleep()

    def inject(self, name: str, params: dict[str, str]) -> None:
        """Apply the fault (t0), its revert journaled first."""
        if self.state.t_inject is None and self.state.traffic is not None and not self.monitor.history:
            self.baseline()
        sandbox = self._sandbox()
        self.spec.fault, self.spec.fault_params = name, dict(params)
        fault_type = fault_class(name)
        with self.phase(Phase.INJECT, name):
            target = sandbox.fault_target(self.state.traffic)
            fault = fault_type(target, params, journal=_RevertJournal(self))
            self.state.fault = fault
            try:
                fault.inject()
            except FaultNotOnPlatform as exc:
                self.state.fault_not_on_platform = str(exc)
                self.say(f"not rehearsable on this platform: {exc}")
                self._decide(raise_on_failure=False)
                assert self.state.judgement is not None
                raise DrillOutcome(self.state.judgement) from exc
            except FaultInjectionError as exc:
                self._sandbox_failed(f"the fault could not be injected: {exc}")
            self.state.t_inject = self.t()
            self.journal.write(events.fault_injected(self, name, params))
            self.say(f"injected {name} {params or ''}".rstrip())

    def await_breach(self, within_s: float | None = None) -> Breach:
        """Wait for the fault to breach an SLO; vacuous if it never does."""
        within = within_s if within_s is not None else self.settings.breach_within_s
        with self.phase(Phase.BREACH):
            end = self.clock.monotonic() + within
            while self.clock.monotonic() < end and self.state.breach is None:
                self._sleep()
            if self.state.breach is None:
                self.settings = replace(self.settings, breach_within_s=within)
                self._decide()
            breach = self.state.breach
            assert breach is not None
            self.say(f"SLO breached: {breach.check.describe()} (saw {breach.check.format_value(breach.value)})")
            return breach

    def respond(self, runner_steps: Sequence[Step] | None = None) -> None:
        """Run the control window (if due), then the incident's steps in order, verbatim, timed and journaled."""
        self.control()
        sandbox = self._sandbox()
        runner = sandbox.step_runner()
        steps = list(runner_steps if runner_steps is not None else self.incident.steps)
        with self.phase(Phase.RESPOND, f"{len(steps)} steps"):
            self.state.t_respond = self.t()
            try:
                for step in steps:
                    self._run_step(runner, step)
                    self._poll()
            finally:  # a port-forward a step left running ends with the steps, also on failure or Ctrl-C
                self._end_background(runner)
            self.state.t_respond_end = self.t()

    def control(self) -> None:
        """The do-nothing control: watch the breached system with no response (see :mod:`drillbook.drill.control`).

        Runs at most once per drill, before its first step; with ``once`` the outcome of an earlier drill of the
        same (system, fault, parameters, users) in this run is reused without waiting.
        """
        if self.state.control is not None or self.state.t_respond is not None or self.state.breach is None:
            return
        settings = self.control_settings
        key = control_key(self.spec.system, self.spec.fault, self.spec.fault_params, self.spec.users)
        if settings.mode is ControlMode.OFF:
            self.journal.write(events.control_off(self, key))
            return
        cached = self.control_cache.get(key) if settings.mode is ControlMode.ONCE else None
        if cached is not None:
            self.state.control = Control(cached.self_healed, cached.window_s, cached.restored_after_s, cached=True)
            self.journal.write(events.control_run(self, settings.mode, key, cached, cached=True))
            self.say(f"control (cached from {cached.source}): {'self-healed' if cached.self_healed else 'no heal'}")
            return
        with self.phase(Phase.CONTROL, f"{settings.window_s:.0f} s with no response"):
            self.say(f"control: {settings.window_s:.0f} s with no response")
            t_start = self.t()
            end = self.clock.monotonic() + settings.window_s
            hopeless = False
            while self.clock.monotonic() < end and not self._held():
                if hopeless := self._cannot_hold_by(end):
                    break  # no self-heal could still hold inside the window: the same outcome as waiting it out
                self._sleep()
            healed = self._held()
            restored_after = (
                max(0.0, self.state.restore_t - t_start) if healed and self.state.restore_t is not None else None
            )
            detail = (
                f"the SLOs came back {restored_after:.1f} s into the window and held {self.state.held_s:.1f} s"
                if healed and restored_after is not None
                else f"still breached after {self.t() - t_start:.1f} s with no response"
                + (
                    f" (decided then: a self-heal could no longer hold {self.required_hold_s():.1f} s inside the "
                    f"{settings.window_s:.0f} s window)"
                    if hopeless
                    else ""
                )
            )
            result = ControlResult(healed, settings.window_s, restored_after, self.drill_id, detail)
            self.control_cache.put(key, result)
            self.state.control = Control(healed, settings.window_s, restored_after)
            self.journal.write(events.control_run(self, settings.mode, key, result, cached=False, t_start=t_start))
            self.say(f"control: {detail}")

    def await_restore(self, within_s: float | None = None) -> None:
        """Watch until every breached SLO is back and held, or until the deadline, whatever any step did."""
        within = within_s if within_s is not None else self.settings.restore_within_s
        with self.phase(Phase.RECOVER):
            end = self.clock.monotonic() + within
            while self.clock.monotonic() < end and not self._held():
                if (decided := self._not_restorable(within)) is not None:
                    self.state.watch_decided = decided
                    self.journal.write(events.note(self, f"recovery watch ended early: {decided}"))
                    self.say(f"recovery decided: {decided}")
                    break
                self._sleep()
            self.state.t_watch_end = self.t()
            self.settings = replace(self.settings, restore_within_s=within)
            if self._held():
                self.state.fault_remains = self._fault_remains()
            else:
                self.state.not_held = self._not_held_detail()
                self.state.host_saturated = self._host_saturated()
                if not self.state.watch_decided and self.state.settle_probed_at is not None:
                    self.journal.write(events.note(self, f"recovery watch ran to its deadline: {self._unsettled()}"))

    def conclude(self) -> Judgement:
        """Judge the drill and journal the verdict (once)."""
        if self.state.judgement is None:
            if self.state.sandbox is not None:
                self._evaluate_alerts(self.state.sandbox)  # before the verdict: their findings are in it
            self._decide(raise_on_failure=False)
        judgement = self.state.judgement
        assert judgement is not None
        return judgement

    def finish(self, interrupted: BaseException | None = None) -> Judgement:
        """Revert the fault, stop traffic, close the sandbox, make sure a verdict is journaled. Always call.

        A drill stopped by Ctrl-C or SIGTERM (``KeyboardInterrupt``) before its verdict journals none: it proved
        nothing either way, and the report shows it as *interrupted*. Its fault is reverted all the same.
        """
        undecided = self.state.judgement is None and self.state.sandbox_error is None
        stopped = undecided and isinstance(interrupted, KeyboardInterrupt)
        if interrupted is not None and undecided and not isinstance(interrupted, DrillOutcome):
            self.state.sandbox_error = f"interrupted: {type(interrupted).__name__}: {interrupted}"
        try:
            with self.phase(Phase.REVERT):
                self._revert()
        finally:
            if stopped:
                judgement = judge(self._observations())  # returned to the caller, never journaled
                stop = str(interrupted) if str(interrupted).startswith("interrupted") else "interrupted by Ctrl-C"
                self.journal.write(events.note(self, f"{stop}: no verdict; the fault was reverted"))
            else:
                judgement = self.conclude()
            self.journal.write(events.drill_finished(self))
            if stopped:
                self.say("interrupted: no verdict (the drill proved nothing either way); the fault was reverted")
            else:
                self.say(f"verdict: {judgement.verdict.value.upper()} — {judgement.reason}")
        return judgement

    # -- recovery -----------------------------------------------------------------------------------------

    def required_hold_s(self) -> float:
        """How long the SLOs must hold to count as restored: longer than any quiet gap of a flapping fault."""
        gap = longest_relapse_gap(self._samples())
        return max(self.settings.hold_s, self.settings.relapse_hold_factor * gap)

    def _cannot_hold_by(self, end: float) -> bool:
        """Whether the SLOs can no longer be restored and held by ``end`` (monotonic): the current all-passing
        streak plus the time left (and a tick of slack for the monitor's lag) is short of the required hold, which
        only grows. A watch that asks only "held by the end?" has its answer then."""
        left = end - self.clock.monotonic()
        return self.monitor.holding_for() + left + self.settings.tick_s < self.required_hold_s()

    def _held(self) -> bool:
        """Restored and held: every breached check is back and all checks held for the required hold."""
        if self.state.breach is None or self.monitor.breached:
            return False
        since_fault = self.monitor.events[self.state.events_at_baseline_end :]
        breached = {id(event.check) for event in since_fault if isinstance(event, Breach)}
        restored = {id(event.check) for event in self.state.restores}
        if not breached or not breached <= restored:
            return False
        holding = self.monitor.holding_for()
        if holding < self.required_hold_s():
            return False
        if self.state.restore_t is None:
            last = self.monitor.history[-1].t_end if self.monitor.history else self.clock.time()
            self.state.restore_t = self.t(last - holding)
            self.state.held_s = holding
            self.journal.write(
                events.note(
                    self,
                    f"restored at t={self.state.restore_t:.1f} s and held {holding:.1f} s "
                    f"(required hold {self.required_hold_s():.1f} s)",
                )
            )
        return True

    def _fault_remains(self) -> str:
        """Why a held restore may not last, when the fault is a leak still deployed (empty otherwise).

        A restart clears what a leak accumulated but not the leak: it grows back about as fast as it first
        breached. The watch ends once the restore has held, usually before that, so the verdict says what it
        could not see rather than calling the restore lasting or failing it on a relapse it did not watch.
        """
        fault, breach = self.state.fault, self.state.breach
        if fault is None or breach is None or fault.reverted or not type(fault).regrows_after_restart:
            return ""
        try:
            in_place = fault.still_in_place()
        except Exception as exc:  # an unreadable Deployment: say nothing rather than guess
            self.journal.write(
                events.note(self, f"could not tell whether the {fault.name} fault is still in place: {exc}")
            )
            return ""
        if not in_place or self.state.t_inject is None or self.state.restore_t is None:
            return ""
        onset = max(0.0, self.t(breach.t) - self.state.t_inject)
        lasted = max(0.0, self.t() - self.state.restore_t)
        remains = (
            f"the {fault.name} fault is still deployed (a restart clears what it accumulated, not the leak); a fresh "
            f"system breached {onset:.0f} s after it was injected, and the watch ended {lasted:.0f} s after the "
            "restore, so the SLOs may breach again"
        )
        self.journal.write(events.note(self, remains))
        return remains

    def _host_saturated(self) -> str:
        """What the machine's CPU showed at the end of a watch whose SLOs stayed breached, when it was saturated
        (empty otherwise, or when it was not read).

        The stretch judged is the settle window (:func:`~drillbook.drill.settle.settle_window_s`) before the
        watch ended, from no earlier than the last step's end: long enough that the system had time to use what
        the runbook gave it, short enough to be what the machine looked like when the verdict was taken.
        """
        end = self.state.t_watch_end
        if end is None:
            return ""
        control = self.state.control
        window = settle_window_s(control.window_s if control is not None else 0.0, self.required_hold_s())
        start = end - window
        if self.state.t_respond_end is not None:
            start = max(start, self.state.t_respond_end)
        seen = self.host_load.saturation(start, end, self.state.baseline_span)
        if seen is None or not seen.saturated:
            return ""
        detail = seen.describe(os.cpu_count())
        self.journal.write(events.note(self, f"the sandbox's machine was saturated: {detail}"))
        return detail

    def _not_restorable(self, within_s: float) -> str | None:
        """Why the SLOs provably cannot come back before the deadline, or ``None`` while the outcome is open.

        Only when every way back is closed: the fault is applied and nothing inside the sandbox lifts it, and the
        control run with no response saw no self-healing (with the control off, nothing is known, so the watch
        runs on). Then either no command that ran could have changed the system (an action or a tool of unknown
        effect, even a failed one) and the breach never lifted since it began (a flapping signal keeps the watch
        going), or the sandbox has settled with the SLOs breached (:mod:`drillbook.drill.settle`).
        """
        fault, control = self.state.fault, self.state.control
        if fault is None or not fault.injected or fault.reverted or not type(fault).persists_until_reverted:
            return None
        if control is None or control.self_healed:
            return None
        watched = self.t() - (self.state.t_respond_end if self.state.t_respond_end is not None else self.t())
        head = f"decided after {watched:.1f} s of the {within_s:.0f} s watch: "
        acted = [result.ended for result in self._command_results() if _could_act(result)]
        if not acted and self.state.breach is not None and not self.state.restores and self.monitor.breached:
            return head + (
                f"the {fault.name} fault persists until reverted, no command that ran could act on the system, the "
                "SLOs never came back since the breach, and the control run saw no self-healing"
            )
        settled = self._settled(control.window_s, max(acted, default=None))
        return head + settled.describe(fault.name) if settled is not None else None

    def _settled(self, control_window_s: float, last_action_ended: float | None) -> Settled | None:
        """The settle rule on what the watch has seen so far (the fault's and the control's part already hold)."""
        now = self.t()
        self._probe_settle(now)
        return settled_and_breached(
            SettleEvidence(
                now=now,
                fault_lasts=True,
                control_window_s=control_window_s,
                commands_running=self.state.t_respond_end is None,
                last_action_ended=last_action_ended,
                settled_since=self.state.settle.settled_since,
                samples=[(sample.t, sample.failing) for sample in self._samples()],
                restores=[self.t(restore.t) for restore in self.state.restores],
                breached_now=self.monitor.breached,
                required_hold_s=self.required_hold_s(),
                max_sample_gap_s=self.settings.window_s,
            )
        )

    def _unsettled(self) -> str:
        """Why a watch that probed the sandbox was not decided as settled (for the journal)."""
        since, control = self.state.settle.settled_since, self.state.control
        if since is None or control is None:
            return f"the sandbox was not at rest ({self.state.settle.why_not})"
        window = settle_window_s(control.window_s, self.required_hold_s())
        acted = [result.ended for result in self._command_results() if _could_act(result)]
        start = max([since, *acted])
        if self.t() - start < window:
            return (
                f"the sandbox was at rest from t={since:.1f} s, but the settle window of {window:.1f} s from "
                f"t={start:.1f} s had not passed"
            )
        return (
            f"the sandbox was at rest from t={since:.1f} s, but the SLOs were not seen breached in every window of "
            f"the {window:.1f} s settle window from t={start:.1f} s"
        )

    def _probe_settle(self, now: float) -> None:
        """Ask the sandbox whether anything it deployed is changing: after the steps, every ``settle_probe_s``."""
        last = self.state.settle_probed_at
        if self.state.t_respond_end is None or (last is not None and now - last < self.settings.settle_probe_s):
            return
        self.state.settle_probed_at = now
        sandbox = self.state.sandbox
        if sandbox is None or not isinstance(sandbox, ChangeProbe):
            self.state.settle.observe(now, None, "it has no change probe, so it is never taken as settled")
            return
        try:
            snapshot = sandbox.change_fingerprint()
        except DrillbookError as exc:  # no evidence: the watch goes on
            self.state.settle.observe(now, None, f"its change probe failed ({exc})")
            return
        self.state.settle.observe(now, snapshot)

    def _not_held_detail(self) -> str | None:
        if self.monitor.breached:
            return None
        holding = self.monitor.holding_for()
        if holding <= 0:
            return None
        gap = longest_relapse_gap(self._samples())
        why = (
            f" ({self.settings.relapse_hold_factor:g}x the longest quiet gap of the flapping signal, {gap:.1f} s)"
            if self.required_hold_s() > self.settings.hold_s
            else ""
        )
        return (
            f"back for {holding:.1f} s when the watch ended after {self.settings.restore_within_s:.0f} s; "
            f"restored needs a hold of {self.required_hold_s():.1f} s{why}"
        )

    def _samples(self) -> list[Sample]:
        """One severity sample per monitor window since the fault, on the stopwatch."""
        if self.state.t_inject is None:
            return []
        samples: list[Sample] = []
        for stats in list(self.monitor.history):
            t = self.t(stats.t_end)
            if t < self.state.t_inject:
                continue
            samples.append(_sample(self.plan.checks, stats, t, self.settings.min_requests))
        return samples

    # -- judging ------------------------------------------------------------------------------------------

    def _observations(self) -> Observations:
        restore_t = self.state.restore_t if self.state.breach is not None else None
        measured = None
        projected = None
        if restore_t is not None and self.state.t_inject is not None:
            measured = max(0.0, restore_t - self.state.t_inject)
            respond_start = self.state.t_respond if self.state.t_respond is not None else self.state.t_inject
            self.state.projection = project(
                self.incident,
                self._executed_steps(),
                max(0.0, restore_t - respond_start),
                self.projection_settings,
                follow_up=self.spec.follow_up_steps,
            )
            projected = self.state.projection.total_s
        commands = tuple(self._command_results())
        attribution = self._attribute(commands, restore_t)
        target = resolution_target(self.incident)
        written = self.incident.time_target
        target_note = (
            f"the runbook states only a response SLA ({written.text}), not a resolution target"
            if written is not None and target is None
            else ""
        )
        return Observations(
            target_s=target.seconds if target else None,
            target_note=target_note,
            sandbox_error=self.state.sandbox_error,
            fault_not_on_platform=self.state.fault_not_on_platform,
            baseline_held=self.state.baseline_held,
            baseline_detail=self.state.baseline_detail,
            breached=self.state.breach is not None,
            breach_wait_s=self.settings.breach_within_s,
            weak_breach=self._weak_breach(commands),
            control=self.state.control,
            restored=restore_t is not None,
            not_held=self.state.not_held,
            restore_deadline_s=self.settings.restore_within_s,
            time_to_restore_s=measured,
            response_to_restore_s=(
                max(0.0, restore_t - self.state.t_respond)
                if restore_t is not None and self.state.t_respond is not None
                else None
            ),
            projected_mttr_s=projected,
            commands=commands,
            fault=self.spec.fault,
            attribution=_credit(attribution.action) if attribution.action is not None else "",
            no_effect=tuple(_no_effect_finding(action) for action in attribution.no_effect),
            watch_decided=self.state.watch_decided,
            fault_remains=self.state.fault_remains,
            host_saturated=self.state.host_saturated,
            alerts=tuple(
                AlertSeen(e.alert.name or e.alert.text, e.outcome.value, e.finding or "", e.alert.line, e.alert.text)
                for e in self.state.alerts
            ),
        )

    def _attribute(self, commands: Sequence[CommandResult], restore_t: float | None) -> Attribution:
        actions = [Action(c.step, c.title, c.as_written, c.ended, c.supplied) for c in commands if c.effective_action]
        watch_end = self.state.t_watch_end if self.state.t_watch_end is not None else self.t()
        attribution = attribute(
            self._samples(),
            actions,
            restore_t,
            window_s=self.settings.window_s,
            tick_s=self.settings.tick_s,
            watch_end_t=watch_end,
        )
        self.state.attribution = attribution
        return attribution

    def _weak_breach(self, commands: Sequence[CommandResult]) -> str | None:
        """Why the breach is weak, or ``None``: judged on the windows from the breach to the first action."""
        margin = self.settings.breach_margin
        breach = self.state.breach
        if margin <= 0 or breach is None:
            return None
        first_action = min((c.ended for c in commands if c.effective_action), default=None)
        t_breach = self.t(breach.t)
        until = first_action if first_action is not None else (self.state.t_respond_end or self.t())
        samples = [s for s in self._samples() if t_breach <= s.t <= max(until, t_breach)]
        worst, share = breach_margin(samples)
        if worst >= margin or share > self.settings.steady_share or not samples:
            return None
        return (
            f"worst window {worst:.2f}x the threshold of {breach.check.describe()}, failing in {share:.0%} of "
            f"windows; a breach needs {margin:g}x or most windows failing"
        )

    def _command_results(self) -> list[CommandResult]:
        results: list[CommandResult] = []
        t_inject = self.state.t_inject
        for record in self.state.steps:
            commands = {command.text: command for command in record.step.commands}
            optional = record.step.number in self.spec.optional_steps
            for outcome in record.outcomes:
                command: Command | None = commands.get(outcome.as_written)
                placeholders = command.placeholders if command is not None else ()
                started = self.t(outcome.started)
                results.append(
                    CommandResult(
                        step=record.step.number,
                        title=record.step.title,
                        as_written=outcome.as_written,
                        effect=command.effect.value if command is not None else "unknown",
                        decision=outcome.decision,
                        exit_code=outcome.exit_code,
                        output=outcome.output,
                        reason=outcome.reason,
                        as_run=outcome.as_run,
                        line=command.line if command is not None else record.step.line,
                        supplied=outcome.supplied_by_drill,
                        optional=optional,
                        unresolved=tuple(p for p in placeholders if p and p in outcome.as_run),
                        changed_nothing=events.changed_nothing(outcome),
                        fault_age_s=(started - t_inject) if t_inject is not None else None,
                        ended=self.t(outcome.ended),
                    )
                )
        return results

    def _decide(self, *, raise_on_failure: bool = True) -> None:
        judgement = judge(self._observations())
        if self.state.judgement is None:
            self.state.judgement = judgement
            attributed = self.state.attribution.action if self.state.attribution else None
            attribution_text = self.state.attribution.text if self.state.attribution else ""
            self.journal.write(
                events.verdict(self, judgement, attributed.step if attributed else None, attribution_text)
            )
        if raise_on_failure and judgement.verdict in DECIDED_EARLY:
            raise DrillOutcome(judgement)

    def time_to_restore(self) -> float | None:
        """Seconds from the fault's injection to the moment every breached SLO was back (and then held)."""
        if self.state.restore_t is None or self.state.t_inject is None:
            return None
        return max(0.0, self.state.restore_t - self.state.t_inject)

    def _executed_steps(self) -> list[Step]:
        return [record.step for record in self.state.steps] or list(self.incident.steps)

    # -- internals ----------------------------------------------------------------------------------------

    def _run_step(self, step_runner: StepRunner, step: Step) -> None:
        branch = self.spec.branches.get(step.number)
        supplied = self.spec.supplied.get(step.number)
        self.say(f"step {step.number}: {step.title}")
        self.journal.write(events.step_started(self, step))
        outcomes = step_runner.run_step(step, branch=branch, supplied=supplied)
        for index, outcome in enumerate(outcomes):
            self.journal.write(events.step_finished(self, step, index, outcome))
            mark = f"exit {outcome.exit_code}" if outcome.exit_code is not None else outcome.decision.value
            self.say(f"  {mark}: {outcome.as_run.splitlines()[0][:100] if outcome.as_run else outcome.as_written}")
        self.state.steps.append(StepRecord(step, outcomes, self.t()))

    def _end_background(self, step_runner: StepRunner) -> None:
        if isinstance(step_runner, BackgroundCommands):
            for ended in step_runner.end_background():
                self.journal.write(events.note(self, ended.describe()))
                self.say(f"  ended in the background: step {ended.step}")

    def _revert(self) -> None:
        fault, traffic, sandbox = self.state.fault, self.state.traffic, self.state.sandbox
        errors: list[str] = []
        if fault is not None and fault.injected and not fault.reverted:
            try:
                fault.revert()
                self.journal.write(events.fault_reverted(self, fault.name, self.spec.fault_params))
                self.say(f"reverted {fault.name}")
            except DrillbookError as exc:
                errors.append(str(exc))
        if traffic is not None:
            with contextlib.suppress(Exception):
                traffic.stop()
        if sandbox is not None:
            self._evaluate_alerts(sandbox)  # platform/prometheus: before the sandbox (and its Prometheus) goes
            try:
                sandbox.close()
            except DrillbookError as exc:
                errors.append(f"teardown: {exc}")
            if isinstance(sandbox, BringUpReport):
                self.journal.write(events.note(self, f"teardown: {sandbox.bringup_summary()}"))
        if errors:
            raise SandboxError("; ".join(errors))

    def _load_alert_rules(self, sandbox: Sandbox) -> None:
        """Load the incident's alerts into the sandbox's Prometheus as alerting rules, before any traffic.

        A sandbox that cannot (no Prometheus, a refused rule file) is noted; the alerts are then replayed on the
        expression's samples instead (``slo/alerts.py``), and the report says which.
        """
        if not self.incident.alerts or not isinstance(sandbox, AlertRuleLoader):
            return
        if not isinstance(sandbox, PrometheusQueries) or sandbox.prom_query() is None:
            return  # no Prometheus in this sandbox (docker): nothing to load, nothing to replay on
        rules, _untranslatable = alert_rules(self.incident.alerts)
        if not rules:
            return
        try:
            sandbox.load_alert_rules(rules)
        except DrillbookError as exc:
            self.journal.write(events.note(self, f"alert rules not loaded, replayed instead: {exc}"))
            return
        by_alert = {id(rule.alert): rule.name for rule in rules}
        self.state.alert_rules = {
            i: by_alert[id(alert)] for i, alert in enumerate(self.incident.alerts) if id(alert) in by_alert
        }
        names = ", ".join(f"{rule.name}: {rule.query.condition}" for rule in rules)
        self.journal.write(
            events.note(self, f"the runbook's alerts are alerting rules in the sandbox's Prometheus ({names})")
        )

    def _evaluate_alerts(self, sandbox: Sandbox) -> None:
        """Journal, per alert the incident names, whether and when it fired and cleared (see ``slo/alerts.py``).

        Once per drill, while the sandbox's Prometheus still runs. After a restore, an alert still firing is given
        up to :data:`ALERT_CLEAR_WAIT_S` to resolve, the way a pager's does once the rate window has passed.
        """
        if self.state.alerts_evaluated or not self.incident.alerts or not isinstance(sandbox, PrometheusQueries):
            return
        self.state.alerts_evaluated = True
        if self.state.t_inject is None:
            # No fault, nothing to say about whether the alerts fire under one (the drill ended before it).
            self.journal.write(events.note(self, "the runbook's alerts were not evaluated: no fault was injected"))
            return
        prom = sandbox.prom_query()
        if prom is None:
            return
        if self.state.restore_t is not None and self.state.alert_rules:
            self._await_alerts_resolved(prom, list(self.state.alert_rules.values()), self.state.restore_t)
        # From just before the fault (the baseline shows whether the alert was already firing) to now.
        start = self._wall0 + max(self.state.t_inject - 10.0, 0.0)
        end = self.clock.time()
        for i, alert in enumerate(self.incident.alerts):
            evaluation = evaluate_alert(alert, prom, start=start, end=end, rule=self.state.alert_rules.get(i))
            self.state.alerts.append(evaluation)
            self.journal.write(events.alert_evaluated(self, evaluation))
            self.say(_alert_line(self, evaluation))

    def _await_alerts_resolved(self, prom: PromQuery, rules: Sequence[str], restore_t: float) -> None:
        """Wait until none of ``rules`` fires, then :data:`ALERT_READ_MARGIN_S` more, at most
        :data:`ALERT_CLEAR_WAIT_S`; journal which still fired when that ran out.

        The margin matters: the range read that follows samples every evaluation up to now, and an alert that
        resolved in the last second has its last firing sample on the range's last step, so it reads as still
        firing. Two evaluations later, the range holds one without it.
        """
        selector = "|".join(rules)
        expr = f'ALERTS{{alertname=~"{selector}",alertstate="firing"}}'
        began = self.clock.monotonic()
        while True:
            try:
                firing = prom.query(expr, self.clock.time())
            except Exception:  # the evaluation below reports an unreadable Prometheus; waiting on it is pointless
                return
            if not firing:
                self.clock.sleep(ALERT_READ_MARGIN_S)
                return
            if self.clock.monotonic() - began >= ALERT_CLEAR_WAIT_S:
                break
            self.clock.sleep(1.0)
        names = ", ".join(sorted({s.labels.get("alertname", "?") for s in firing}))
        self.journal.write(
            events.note(
                self,
                f"alert {names} still fired {ALERT_CLEAR_WAIT_S:.0f} s after the wait for it began "
                f"(SLOs restored at t={restore_t:.1f} s): read as still firing at the drill's end",
            )
        )

    def _on_stats(self, stats: WindowStats) -> None:
        self.journal.write(events.slo_window(self, stats))

    def _on_event(self, event: MonitorEvent) -> None:
        if isinstance(event, Breach):
            if self.state.t_inject is not None and self.state.breach is None:
                self.state.breach = event
            if self.state.t_inject is not None and self.state.restore_t is not None:
                # A relapse after a decided restore: the restore did not hold after all.
                self.state.restore_t = None
            self.journal.write(events.slo_breached(self, event))
        else:
            if self.state.t_inject is not None:
                self.state.restores.append(event)
            self.journal.write(events.slo_restored(self, event))

    def _sleep(self) -> None:
        self.clock.sleep(self.settings.poll_s)
        self._poll()

    def _poll(self) -> None:
        self.monitor.poll()
        self.host_load.observe(self.t())

    def _sandbox(self) -> Sandbox:
        if self.state.sandbox is None:
            raise ScenarioError(
                "the drill has no running system: start with 'Given the \"<system>\" system is running'"
            )
        return self.state.sandbox

    def _require_traffic(self) -> None:
        if self.state.traffic is None:
            raise ScenarioError("the drill has no traffic: add 'And steady traffic of N users' before the fault")

    def _sandbox_failed(self, message: str) -> None:
        self.state.sandbox_error = message
        self._decide()

    def _checks_text(self) -> str:
        return ", ".join(check.describe() for check in self.plan.checks) or "no SLOs"


class _RevertJournal:
    """Adapts the drill's journal for faults: the revert record lands before the fault is applied."""

    def __init__(self, drill: Drill) -> None:
        self.drill = drill

    def record_revert(self, record: RevertRecord) -> None:
        self.drill.journal.write(events.fault_revert_recorded(self.drill, record))


def _sample(checks: Sequence[Check], stats: WindowStats, t: float, min_requests: int) -> Sample:
    worst: float | None = None
    failing = False
    for check in checks:
        status, value = check.evaluate(stats, min_requests=min_requests)
        if status is CheckStatus.NO_DATA:
            continue
        failing = failing or status is CheckStatus.FAILING
        level = severity(check, value)
        if level is not None and (worst is None or level > worst):
            worst = level
    return Sample(t, worst, failing)


_RAN = frozenset({Decision.RUNS, Decision.SUPPLIED, Decision.BOUNDED})


def _could_act(result: CommandResult) -> bool:
    """Whether a command that ran may have changed the system: an action or a supplied command (whatever its exit
    code: a failed apply may have applied half), or a tool whose effect nobody knows."""
    if result.decision not in _RAN:
        return False
    return result.supplied or result.effect == "unknown" or is_action(result.effect, result.as_written)


def _credit(action: Action) -> str:
    supplied = ", supplied by the drill" if action.supplied else ""
    return f"step {action.step} ({action.title}{supplied})"


def _no_effect_finding(action: Action) -> Finding:
    return Finding(
        kind=FindingKind.NO_EFFECT,
        step=action.step,
        title=action.title,
        command=action.command,
        whose=Whose.RUNBOOK,
        message=f"Runbook: step {action.step} ({action.title}) ran, but the SLOs did not move after it.",
        counts=False,
    )


def _describe_states(monitor: Monitor) -> str:
    parts = []
    for state in monitor.states():
        value = state.check.format_value(state.value)
        parts.append(f"{state.check.describe()}: {state.status.value if state.status else 'no data'} ({value})")
    return "; ".join(parts)


ALERT_CLEAR_WAIT_S = 2 * DEFAULT_RATE_WINDOW_S + 20.0
"""How long after a restore a firing alert may take to resolve: the failed requests must leave its rate window,
then a scrape and a few evaluations; twice the window leaves room for a loaded machine's late scrapes."""

ALERT_READ_MARGIN_S = 2.0
"""How long the drill waits after its alerts stopped firing before reading their history: two rule evaluations of
the sandbox's Prometheus (it evaluates every second), so the read includes the first one where the alert no longer
fired (its last step may otherwise be the last firing evaluation, and a resolved alert reads as still firing)."""


def _alert_line(drill: Drill, evaluation: AlertEvaluation) -> str:
    """The progress sentence for one alert rule: when it fired and cleared, or the finding."""
    where = f"{evaluation.alert.text!r} (line {evaluation.alert.line})"
    if evaluation.finding is not None:
        return f"alert {where}: {evaluation.finding}"
    assert evaluation.fired_at is not None
    cleared = (
        f"cleared at t={drill.t(evaluation.cleared_at):.1f} s"
        if evaluation.cleared_at is not None
        else "still firing when the drill ended"
    )
    how = f"rule {evaluation.rule}" if evaluation.rule else "replayed"
    return f"alert {where} fired at t={drill.t(evaluation.fired_at):.1f} s ({how}); {cleared}"


def _sha256(runbook: Runbook) -> str:
    try:
        return hashlib.sha256(runbook.path.read_bytes()).hexdigest()
    except OSError:
        return ""


__all__ = ["Check", "Drill", "DrillOutcome", "StepRecord"]
