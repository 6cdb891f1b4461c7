"""Fold a run's journal into per-drill summaries: the one view every report format renders.

Nothing here formats anything; the HTML, SVG, JSON and Markdown modules only read these dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from drillbook.journal import (
    AlertEvaluated,
    ControlRun,
    Decision,
    DrillFinished,
    DrillStarted,
    Event,
    FaultInjected,
    FaultReverted,
    FaultRevertRecorded,
    Finding,
    Journal,
    Note,
    PhaseChanged,
    Platform,
    RunFinished,
    RunStarted,
    SloBreached,
    SloCheck,
    SloRestored,
    SloWindow,
    StepFinished,
    StepStarted,
    ToolVersions,
    Unrehearsed,
    VerdictReached,
)


class Outcome(StrEnum):
    """What the report says about a drill: its verdict, or that it never reached one.

    The same values as :class:`drillbook.journal.Verdict`, plus *interrupted*; a verdict this report does not
    know (from a newer drillbook) is shown as *error* rather than failing the whole report.
    """

    PASSED = "passed"
    PASSED_WITH_FINDINGS = "passed_with_findings"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    VACUOUS = "vacuous"
    INVALID = "invalid"
    ERROR = "error"
    INTERRUPTED = "interrupted"

    @property
    def label(self) -> str:
        """The verdict as people write it: ``passed with findings``."""
        return self.value.replace("_", " ")


PLATFORM_STATEMENTS: dict[Platform, str] = {
    Platform.LOCAL: "embedded local platform — a rehearsal, not a production verification",
    Platform.DOCKER: "localkube with datastores in Docker containers — a rehearsal, not a production verification",
    Platform.KIND: "kind (Kubernetes in Docker) — a real Kubernetes cluster, throwaway",
    Platform.K3S: "k3s in a container — a real Kubernetes cluster, throwaway",
    Platform.EXISTING: "an existing Kubernetes cluster (explicitly allowed kubeconfig context)",
}


@dataclass
class StepRow:
    """One runbook command as the report shows it: its start, and its end if it ended."""

    step: int
    title: str
    command_index: int
    as_written: str
    as_run: str
    decision: Decision
    t_start: float
    supplied_by_drill: bool = False
    reason: str = ""
    finished: bool = False
    t_end: float | None = None
    exit_code: int | None = None
    output_excerpt: str = ""
    duration_s: float | None = None
    changed_nothing: bool = False


@dataclass
class DrillSummary:
    """Everything the journal says about one drill."""

    drill: str
    started: DrillStarted | None = None
    verdict: VerdictReached | None = None
    finished: DrillFinished | None = None
    windows: list[SloWindow] = field(default_factory=list)
    phases: list[PhaseChanged] = field(default_factory=list)
    fault_injected: FaultInjected | None = None
    fault_reverted: FaultReverted | None = None
    reverts: list[FaultRevertRecorded] = field(default_factory=list)
    breaches: list[SloBreached] = field(default_factory=list)
    restores: list[SloRestored] = field(default_factory=list)
    steps: list[StepRow] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    control: ControlRun | None = None
    alerts: list[AlertEvaluated] = field(default_factory=list)
    """The runbook's alerts as the sandbox's Prometheus evaluated them: one timeline row each."""
    last_t: float = 0.0
    last_ts: float | None = None

    @property
    def findings(self) -> list[Finding]:
        """Every finding of the drill, in step order as journaled."""
        return list(self.verdict.findings) if self.verdict else []

    @property
    def unrehearsed(self) -> list[Unrehearsed]:
        """Every step (or command) the drill did not rehearse, with why."""
        return list(self.verdict.unrehearsed) if self.verdict else []

    @property
    def interrupted(self) -> bool:
        """The journal stops before the drill's verdict or its end."""
        return self.verdict is None or self.finished is None

    @property
    def outcome(self) -> Outcome:
        """The verdict, or *interrupted* when the drill never finished."""
        if self.interrupted or self.verdict is None:
            return Outcome.INTERRUPTED
        try:
            return Outcome(self.verdict.verdict.value)
        except ValueError:
            return Outcome.ERROR

    @property
    def reason(self) -> str:
        """Why the drill has its outcome, in one sentence."""
        if self.verdict is None and self.finished is not None:
            stop = next((n.message for n in reversed(self.notes) if n.message.startswith("interrupted")), "")
            return f"{stop or 'interrupted'} (at t={self.last_t:.1f} s{self.last_phase_text()})"
        if self.verdict is None:
            where = self.last_phase_text()
            return (
                f"the journal stops at t={self.last_t:.1f} s{where} without a verdict: the run was killed or "
                "crashed; run `drillbook cleanup` to revert what it left behind"
            )
        if self.finished is None:
            return (
                f"the verdict ({self.verdict.verdict.value}: {self.verdict.reason}) was recorded but the drill "
                "never finished its teardown; run `drillbook cleanup`"
            )
        return self.verdict.reason

    def last_phase_text(self) -> str:
        """`` during <phase>`` for the last phase journaled, or nothing."""
        if not self.phases:
            return ""
        last = self.phases[-1]
        return f" during {last.phase.value} ({last.status.value})"

    @property
    def system(self) -> str:
        """The system under test, or ``?`` when the drill's start was never journaled."""
        return self.started.system if self.started else "?"

    @property
    def incident(self) -> str:
        """The incident's title (its id when it has no title)."""
        if self.started is None:
            return self.drill
        return self.started.incident_title or self.started.incident_id

    @property
    def fault(self) -> str:
        """The injected fault's name."""
        if self.started is not None:
            return self.started.fault
        return self.fault_injected.fault if self.fault_injected else "?"

    @property
    def checks(self) -> list[SloCheck]:
        """The drill's SLO checks."""
        return self.started.checks if self.started else []

    @property
    def target_s(self) -> float | None:
        """The runbook's time target in seconds, if it states one."""
        if self.verdict is not None and self.verdict.target_s is not None:
            return self.verdict.target_s
        return self.started.target_s if self.started else None

    @property
    def time_to_restore_s(self) -> float | None:
        """Measured seconds from fault injection to SLOs restored."""
        return self.verdict.time_to_restore_s if self.verdict else None

    @property
    def projected_mttr_s(self) -> float | None:
        """Projected real-world MTTR in seconds."""
        return self.verdict.projected_mttr_s if self.verdict else None

    @property
    def started_ts(self) -> float | None:
        """Wall-clock start of the drill."""
        return self.started.ts if self.started else None

    @property
    def fault_window(self) -> tuple[float, float] | None:
        """Stopwatch seconds the fault was active; an unreverted fault lasts to the journal's end."""
        if self.fault_injected is None:
            return None
        end = self.fault_reverted.t if self.fault_reverted else self.last_t
        return (self.fault_injected.t, max(end, self.fault_injected.t))


@dataclass
class RunSummary:
    """A run and its drills, in the order they started."""

    run: RunStarted | None
    drills: list[DrillSummary]
    finished: RunFinished | None = None
    notes: list[Note] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    last_ts: float | None = None

    @property
    def run_id(self) -> str:
        """The run's id, or ``?`` when the journal lacks its start."""
        return self.run.run_id if self.run else "?"

    @property
    def platform(self) -> str:
        """The platform's name (``local``, ``kind``…), or ``unknown``."""
        return self.run.platform.value if self.run else "unknown"

    @property
    def platform_statement(self) -> str:
        """Which platform the drills ran on, said plainly."""
        if self.run is None:
            return "unknown platform (the journal lacks its run_started event)"
        return PLATFORM_STATEMENTS[self.run.platform]

    @property
    def versions(self) -> ToolVersions:
        """Tool versions the run recorded."""
        return self.run.versions if self.run else ToolVersions()

    @property
    def started_ts(self) -> float | None:
        """Wall-clock start of the run."""
        return self.run.ts if self.run else None

    @property
    def ended_ts(self) -> float | None:
        """Wall-clock end of the run, or of its last event when it never finished."""
        return self.finished.ts if self.finished else self.last_ts

    def counts(self) -> dict[Outcome, int]:
        """How many drills have each outcome (every outcome present, zero included)."""
        tally = dict.fromkeys(Outcome, 0)
        for drill in self.drills:
            tally[drill.outcome] += 1
        return tally


def summarize(journal: Journal) -> RunSummary:
    """Fold a journal's events into a :class:`RunSummary`."""
    summary = RunSummary(run=None, drills=[], warnings=list(journal.warnings), truncated=journal.truncated)
    by_id: dict[str, DrillSummary] = {}

    def drill_of(drill_id: str) -> DrillSummary:
        if drill_id not in by_id:
            by_id[drill_id] = DrillSummary(drill=drill_id)
            summary.drills.append(by_id[drill_id])
        return by_id[drill_id]

    for event in journal.events:
        summary.last_ts = event.ts
        if isinstance(event, RunStarted):
            summary.run = summary.run or event
        elif isinstance(event, RunFinished):
            summary.finished = event
        elif isinstance(event, Note):
            if event.drill is None:
                summary.notes.append(event)
            else:
                drill_of(event.drill).notes.append(event)
        else:
            drill = drill_of(event.drill)
            drill.last_t = max(drill.last_t, event.t)
            drill.last_ts = event.ts
            _fold(drill, event)
    return summary


def _fold(drill: DrillSummary, event: Event) -> None:
    if isinstance(event, DrillStarted):
        drill.started = event
    elif isinstance(event, SloWindow):
        drill.windows.append(event)
    elif isinstance(event, PhaseChanged):
        drill.phases.append(event)
    elif isinstance(event, FaultRevertRecorded):
        drill.reverts.append(event)
    elif isinstance(event, FaultInjected):
        drill.fault_injected = drill.fault_injected or event
    elif isinstance(event, FaultReverted):
        drill.fault_reverted = event
    elif isinstance(event, SloBreached):
        drill.breaches.append(event)
    elif isinstance(event, SloRestored):
        drill.restores.append(event)
    elif isinstance(event, StepStarted):
        drill.steps.append(_row(event))
    elif isinstance(event, StepFinished):
        _finish_step(drill, event)
    elif isinstance(event, ControlRun):
        drill.control = event
    elif isinstance(event, AlertEvaluated):
        drill.alerts.append(event)
    elif isinstance(event, VerdictReached):
        drill.verdict = event
    elif isinstance(event, DrillFinished):
        drill.finished = event


def _row(event: StepStarted | StepFinished) -> StepRow:
    return StepRow(
        step=event.step,
        title=event.title,
        command_index=event.command_index,
        as_written=event.as_written,
        as_run=event.as_run,
        decision=event.decision,
        t_start=event.t,
        supplied_by_drill=event.supplied_by_drill,
        reason=event.reason,
    )


def _finish_step(drill: DrillSummary, event: StepFinished) -> None:
    row = next(
        (
            r
            for r in reversed(drill.steps)
            if not r.finished and r.step == event.step and r.command_index == event.command_index
        ),
        None,
    )
    if row is None:
        # A step that was never announced (captured/blocked commands may only be journaled when done).
        row = _row(event)
        row.t_start = max(0.0, event.t - event.duration_s)
        drill.steps.append(row)
    row.finished = True
    row.t_end = event.t
    row.decision = event.decision
    row.as_run = event.as_run or row.as_run
    row.as_written = event.as_written or row.as_written
    row.reason = event.reason or row.reason
    row.supplied_by_drill = event.supplied_by_drill or row.supplied_by_drill
    row.exit_code = event.exit_code
    row.output_excerpt = event.output_excerpt
    row.duration_s = event.duration_s
    row.changed_nothing = event.changed_nothing
