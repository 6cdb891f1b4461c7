"""One drill: provision → baseline → inject → breach → respond → recover → verdict → revert.

Every phase runs on one stopwatch and is journaled as it happens. Gherkin steps call the phase
methods in order; :meth:`Drill.finish` always runs (from the fixture's teardown) and guarantees the
fault is reverted, traffic stopped, the sandbox closed and a verdict journaled — also when a step
failed, the sandbox broke or the run was interrupted.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from drillbook.drill import events
from drillbook.drill.ports import (
    CommandOutcome,
    PrometheusQueries,
    Sandbox,
    SandboxFactory,
    SloWindowSource,
    StepRunner,
    Traffic,
)
from drillbook.drill.projection import Projection, ProjectionSettings, project
from drillbook.drill.spec import DrillSettings, DrillSpec
from drillbook.drill.verdict import Judgement, Observations, StepProblem, Verdict, judge
from drillbook.errors import DrillbookError, FaultInjectionError, SandboxError, ScenarioError
from drillbook.faults.base import Fault, RevertRecord, fault_class
from drillbook.journal import Decision, JournalWriter, Phase, PhaseStatus
from drillbook.runbook.model import Effect, Incident, Runbook, Step
from drillbook.slo.alerts import AlertEvaluation, evaluate_alert
from drillbook.slo.checks import Check, CheckPlan
from drillbook.slo.monitor import Breach, Monitor, MonitorEvent, MonitorSettings, Restore
from drillbook.slo.stats import WindowStats

Progress = Callable[[str], None]


class DrillOutcome(DrillbookError):
    """Raised by a phase when the drill's verdict is already decided (vacuous, invalid, failed, error)."""

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
    breach: Breach | None = None
    restores: list[Restore] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    baseline_held: bool = True
    baseline_detail: str = ""
    sandbox_error: str | None = None
    judgement: Judgement | None = None
    projection: Projection | None = None
    alerts: list[AlertEvaluation] = field(default_factory=list)
    """The incident's alert rules evaluated on the sandbox's Prometheus (for the verdict's findings)."""


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
    ) -> None:
        self.drill_id = drill_id
        self.spec = spec
        self.runbook = runbook
        self.incident = incident
        self.plan = plan
        self.journal = journal
        self.settings = settings or DrillSettings()
        self.projection_settings = projection or ProjectionSettings()
        self._progress = progress or (lambda _message: None)
        self._wall0 = time.time()
        self._mono0 = time.monotonic()
        self.state = _State()
        self.monitor = Monitor(
            plan.checks,
            MonitorSettings(
                window_s=self.settings.window_s,
                hold_s=self.settings.hold_s,
                tick_s=self.settings.tick_s,
                lag_s=self.settings.tick_s,
                min_requests=self.settings.min_requests,
            ),
            on_stats=self._on_stats,
            on_event=self._on_event,
        )

    # -- the stopwatch ------------------------------------------------------------------------------------

    def t(self, epoch: float | None = None) -> float:
        """Seconds on this drill's stopwatch (now, or at a wall-clock epoch time)."""
        if epoch is None:
            return time.monotonic() - self._mono0
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

    def provision(self, factory: SandboxFactory) -> Sandbox:
        """Bring the system up."""
        with self.phase(Phase.PROVISION, self.spec.system):
            self.say(f"provisioning {self.spec.system}")
            try:
                sandbox = factory(self.spec.system)
            except DrillbookError as exc:
                self._sandbox_failed(str(exc))
                raise
            self.state.sandbox = sandbox
            # -- slo_source: prometheus (platform/prometheus): the sandbox may judge windows as PromQL --------
            if isinstance(sandbox, SloWindowSource) and (source := sandbox.slo_window_source()) is not None:
                self.monitor.window_source = source
                self.journal.write(events.note(self, "SLOs are read as PromQL from the sandbox's Prometheus"))
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
            self.say(f"baseline: {self.settings.baseline_s:.0f}s of traffic must meet {self._checks_text()}")
            end = time.monotonic() + self.settings.baseline_s
            saw_data = False
            while time.monotonic() < end:
                self._sleep()
                saw_data = saw_data or any(s.requests > 0 for s in self.monitor.history)
            failing = [s for s in self.monitor.states() if s.breached or s.status is None]
            if not saw_data or failing or self.monitor.breached:
                detail = "no requests completed" if not saw_data else _describe_states(self.monitor)
                self.state.baseline_held = False
                self.state.baseline_detail = detail
                self._decide()

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
            except FaultInjectionError as exc:
                self._sandbox_failed(f"the fault could not be injected: {exc}")
            self.state.t_inject = self.t()
            self.journal.write(events.fault_injected(self, name, params))
            self.say(f"injected {name} {params or ''}".rstrip())

    def await_breach(self, within_s: float | None = None) -> Breach:
        """Wait for the fault to breach an SLO; vacuous if it never does."""
        within = within_s if within_s is not None else self.settings.breach_within_s
        with self.phase(Phase.BREACH):
            end = time.monotonic() + within
            while time.monotonic() < end and self.state.breach is None:
                self._sleep()
            if self.state.breach is None:
                self.settings = _replace_breach_wait(self.settings, within)
                self._decide()
            breach = self.state.breach
            assert breach is not None
            self.say(f"SLO breached: {breach.check.describe()} (saw {breach.check.format_value(breach.value)})")
            return breach

    def respond(self, runner_steps: Sequence[Step] | None = None) -> None:
        """Run the incident's steps in order, verbatim, each timed and journaled."""
        sandbox = self._sandbox()
        runner = sandbox.step_runner()
        steps = list(runner_steps if runner_steps is not None else self.incident.steps)
        with self.phase(Phase.RESPOND, f"{len(steps)} steps"):
            self.state.t_respond = self.t()
            for step in steps:
                self._run_step(runner, step)
                self._poll()
            self.state.t_respond_end = self.t()

    def await_restore(self, within_s: float | None = None) -> None:
        """Wait for every breached SLO to come back and hold."""
        within = within_s if within_s is not None else self.settings.restore_within_s
        if self._step_problems():
            within = min(within, self.settings.restore_after_failed_step_s)
        with self.phase(Phase.RECOVER):
            end = time.monotonic() + within
            while time.monotonic() < end and not self._restored():
                self._sleep()
            self.settings = _replace_restore_wait(self.settings, within)

    def conclude(self) -> Judgement:
        """Judge the drill and journal the verdict (once)."""
        if self.state.judgement is None:
            self._decide(raise_on_failure=False)
        judgement = self.state.judgement
        assert judgement is not None
        return judgement

    def finish(self, interrupted: BaseException | None = None) -> Judgement:
        """Revert the fault, stop traffic, close the sandbox, make sure a verdict is journaled. Always call."""
        undecided = self.state.judgement is None and self.state.sandbox_error is None
        if interrupted is not None and undecided and not isinstance(interrupted, DrillOutcome):
            self.state.sandbox_error = f"interrupted: {type(interrupted).__name__}: {interrupted}"
        try:
            with self.phase(Phase.REVERT):
                self._revert()
        finally:
            judgement = self.conclude()
            self.journal.write(events.drill_finished(self))
            self.say(f"verdict: {judgement.verdict.value.upper()} — {judgement.reason}")
        return judgement

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
        if errors:
            raise SandboxError("; ".join(errors))

    def _evaluate_alerts(self, sandbox: Sandbox) -> None:
        """Journal, per alert the incident names, whether and when it would have fired (see ``slo/alerts.py``)."""
        if not self.incident.alerts or not isinstance(sandbox, PrometheusQueries):
            return
        prom = sandbox.prom_query()
        if prom is None:
            return
        for alert in self.incident.alerts:
            # From just before the fault (the baseline shows whether the alert was already firing) to now.
            start = self._wall0 + max((self.state.t_inject or 0.0) - 10.0, 0.0)
            evaluation = evaluate_alert(alert, prom, start=start, end=time.time())
            self.state.alerts.append(evaluation)
            self.journal.write(events.note(self, _alert_line(self, evaluation)))

    def _restored(self) -> bool:
        breached = {id(event.check) for event in self.monitor.events if isinstance(event, Breach)}
        restored = {id(event.check) for event in self.state.restores}
        return bool(breached) and breached <= restored and not self.monitor.breached

    def _observations(self) -> Observations:
        restore_t = self._restore_t()
        measured = None
        projected = None
        if restore_t is not None and self.state.t_inject is not None:
            measured = max(0.0, restore_t - self.state.t_inject)
            respond_start = self.state.t_respond if self.state.t_respond is not None else self.state.t_inject
            self.state.projection = project(
                self.incident, self._executed_steps(), max(0.0, restore_t - respond_start), self.projection_settings
            )
            projected = self.state.projection.total_s
        target = self.incident.time_target.seconds if self.incident.time_target else None
        return Observations(
            target_s=target,
            sandbox_error=self.state.sandbox_error,
            baseline_held=self.state.baseline_held,
            baseline_detail=self.state.baseline_detail,
            breached=self.state.breach is not None,
            breach_wait_s=self.settings.breach_within_s,
            restored=restore_t is not None,
            restore_deadline_s=self.settings.restore_within_s,
            time_to_restore_s=measured,
            projected_mttr_s=projected,
            step_problems=tuple(self._step_problems()),
        )

    def _decide(self, *, raise_on_failure: bool = True) -> None:
        judgement = judge(self._observations())
        if self.state.judgement is None:
            self.state.judgement = judgement
            self.journal.write(events.verdict(self, judgement, self._attributed_step()))
        if raise_on_failure and judgement.verdict is not Verdict.PASSED:
            raise DrillOutcome(judgement)

    def time_to_restore(self) -> float | None:
        """Seconds from the fault's injection to the moment every breached SLO was back (and then held)."""
        restore_t = self._restore_t()
        if restore_t is None or self.state.t_inject is None:
            return None
        return max(0.0, restore_t - self.state.t_inject)

    def _restore_t(self) -> float | None:
        if not self._restored() or not self.state.restores:
            return None
        return max(self.t(event.since) for event in self.state.restores)

    def _executed_steps(self) -> list[Step]:
        return [record.step for record in self.state.steps] or list(self.incident.steps)

    def _step_problems(self) -> list[StepProblem]:
        problems: list[StepProblem] = []
        for record in self.state.steps:
            if record.step.number in self.spec.optional_steps:
                continue
            effects = {command.text: command.effect for command in record.step.commands}
            for outcome in record.outcomes:
                effect = effects.get(outcome.as_written, Effect.MUTATING)
                problem = _problem_of(outcome, effect)
                if problem is not None:
                    problems.append(StepProblem(record.step.number, record.step.title, outcome.as_written, problem))
        return problems

    def _attributed_step(self) -> int | None:
        restore_t = self._restore_t()
        if restore_t is None:
            return None
        before = [record for record in self.state.steps if record.ended <= restore_t + 0.5]
        return before[-1].step.number if before else None

    def _on_stats(self, stats: WindowStats) -> None:
        self.journal.write(events.slo_window(self, stats))

    def _on_event(self, event: MonitorEvent) -> None:
        if isinstance(event, Breach):
            if self.state.t_inject is not None and self.state.breach is None:
                self.state.breach = event
            self.journal.write(events.slo_breached(self, event))
        else:
            if self.state.t_inject is not None:
                self.state.restores.append(event)
            self.journal.write(events.slo_restored(self, event))

    def _sleep(self) -> None:
        time.sleep(self.settings.poll_s)
        self._poll()

    def _poll(self) -> None:
        self.monitor.poll()

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


_ROT = re.compile(
    r"\(NotFound\)|does not exist|unknown (?:flag|command|shorthand)|doesn't have a resource type|"
    r"No resources found|syntax error|Unsupported value|is invalid|unrecognized option|invalid option|"
    r"command not found",
    re.IGNORECASE,
)
"""Output that says the runbook itself is wrong (a renamed deployment, a dropped column, a bad flag), as opposed
to a symptom of the fault (connection refused, too many clients) that a diagnostic step is expected to show."""


def _problem_of(outcome: CommandOutcome, effect: Effect) -> str | None:
    """Why a command fails the drill, or ``None``.

    Actions (anything not read-only) must work. A read-only diagnostic fails the drill only when it shows the
    runbook is wrong; a diagnostic that reports the outage itself is doing its job.
    """
    diagnostic = effect in (Effect.READ_ONLY, Effect.NON_TERMINATING)
    if outcome.decision is Decision.BLOCKED and not diagnostic:
        return f"was blocked by the policy ({outcome.reason})"
    if outcome.decision is Decision.MISSING_TOOL and not diagnostic:
        return f"needs a tool this machine lacks ({outcome.reason})"
    if outcome.decision in (Decision.RUNS, Decision.SUPPLIED) and outcome.exit_code not in (0, None):
        # "previous terminated container … not found": the pod simply has not crashed yet — timing, not rot.
        rot = _ROT.search(outcome.output) and "previous terminated container" not in outcome.output
        if diagnostic and not rot:
            return None
        return f"exited {outcome.exit_code}: {_telling_line(outcome.output)}"
    return None


def _telling_line(output: str) -> str:
    """The line of a failed command's output that says why: an error line if there is one, else the last."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    markers = ("FATAL", "ERROR", "Error", "error:", "not found", "refused", "denied")
    for line in lines:
        if any(marker in line for marker in markers) and not line.startswith("command terminated"):
            return line[:200]
    return lines[-1][:200] if lines else "(no output)"


def _describe_states(monitor: Monitor) -> str:
    parts = []
    for state in monitor.states():
        value = state.check.format_value(state.value)
        parts.append(f"{state.check.describe()}: {state.status.value if state.status else 'no data'} ({value})")
    return "; ".join(parts)


def _replace_breach_wait(settings: DrillSettings, within: float) -> DrillSettings:
    from dataclasses import replace

    return replace(settings, breach_within_s=within)


def _replace_restore_wait(settings: DrillSettings, within: float) -> DrillSettings:
    from dataclasses import replace

    return replace(settings, restore_within_s=within)


def _alert_line(drill: Drill, evaluation: AlertEvaluation) -> str:
    """The report's sentence for one alert rule: when it fired and cleared, or the finding."""
    where = f"{evaluation.alert.text!r} (line {evaluation.alert.line})"
    if evaluation.finding is not None:
        return f"alert {where}: {evaluation.finding}"
    assert evaluation.fired_at is not None
    cleared = (
        f"cleared at t={drill.t(evaluation.cleared_at):.1f} s"
        if evaluation.cleared_at is not None
        else "still firing when the drill ended"
    )
    return f"alert {where} would have fired at t={drill.t(evaluation.fired_at):.1f} s; {cleared}"


def _sha256(runbook: Runbook) -> str:
    try:
        return hashlib.sha256(runbook.path.read_bytes()).hexdigest()
    except OSError:
        return ""


__all__ = ["Check", "Drill", "DrillOutcome", "StepRecord"]
