"""The journal's typed events: one dataclass per event type, each serialised as one JSON line.

Every event carries ``ts`` (wall-clock epoch seconds). Events inside a drill also carry ``drill`` (the
drill id) and ``t`` (seconds on that drill's stopwatch, zero when the drill started). Fields are
keyword-only so events read the same at every call site.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

SCHEMA_VERSION = 2
"""Bumped when a field changes meaning or disappears; new optional fields and new event types do not bump it.

2: verdicts gained *passed_with_findings* and *inconclusive*, and *failed* no longer covers a stale diagnostic
or a step the sandbox cannot rehearse (those are typed findings now); ``attributed_step`` is the action after
which the SLO trend turned, not the last step that ended before the restore."""

JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]


class EventType(StrEnum):
    """The ``type`` field of every journal line."""

    RUN_STARTED = "run_started"
    DRILL_STARTED = "drill_started"
    PHASE = "phase"
    FAULT_REVERT_RECORDED = "fault_revert_recorded"
    FAULT_INJECTED = "fault_injected"
    FAULT_REVERTED = "fault_reverted"
    SLO_WINDOW = "slo_window"
    SLO_BREACHED = "slo_breached"
    SLO_RESTORED = "slo_restored"
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    CONTROL_RUN = "control_run"
    ALERT = "alert"
    VERDICT = "verdict"
    DRILL_FINISHED = "drill_finished"
    RUN_FINISHED = "run_finished"
    NOTE = "note"


class Platform(StrEnum):
    """Which engine ran the sandbox."""

    LOCAL = "local"
    DOCKER = "docker"
    KIND = "kind"
    K3S = "k3s"
    EXISTING = "existing"


class Phase(StrEnum):
    """The phases of a drill, in order."""

    PROVISION = "provision"
    BASELINE = "baseline"
    INJECT = "inject"
    BREACH = "breach"
    RESPOND = "respond"
    RECOVER = "recover"
    CONTROL = "control"
    VERDICT = "verdict"
    REVERT = "revert"


class PhaseStatus(StrEnum):
    """Where a phase is."""

    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"


class Decision(StrEnum):
    """What the executor's policy decided for one command."""

    RUNS = "runs"
    CAPTURED = "captured"
    BLOCKED = "blocked"
    BOUNDED = "bounded"
    MANUAL = "manual"
    SUPPLIED = "supplied"
    MISSING_TOOL = "missing_tool"


class Verdict(StrEnum):
    """A drill's verdict as journaled; ARCHITECTURE.md says what each one promises the team.

    Add members here only (the report, JUnit and pytest mappings look verdicts up with a default, so a new one,
    such as *interrupted*, is shown as itself and treated like *error* until they say otherwise).
    """

    PASSED = "passed"
    PASSED_WITH_FINDINGS = "passed_with_findings"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    VACUOUS = "vacuous"
    INVALID = "invalid"
    ERROR = "error"


class FindingKind(StrEnum):
    """What is wrong with (or could not be rehearsed of) one command of a runbook step."""

    INVALID_ACTION = "invalid-action"
    """An action (anything that changes the system) failed: the API or the tool rejected it."""
    STALE_COMMAND = "stale-command"
    """A diagnostic failed in a way that says the runbook is out of date (a renamed column, a missing object)."""
    UNRESOLVED_PLACEHOLDER = "unresolved-placeholder"
    """A ``<PLACEHOLDER>`` nothing fills in: the on-call must guess, and the sandbox cannot run it."""
    MISSING_TOOL = "missing-tool"
    """The command needs a tool this machine (or the pod's image, or an absent app repository) does not have."""
    NOT_REHEARSABLE = "not-rehearsable"
    """The sandbox cannot rehearse the command as written (a system it does not model, compressed time)."""
    BLOCKED_BY_POLICY = "blocked-by-policy"
    """drillbook's policy refused to run the command (it would leave the sandbox or act on the host)."""
    PROSE_ONLY = "prose-only"
    """The step says what to do in words only: nothing executable."""
    HARMFUL = "harmful"
    """The command is known to make this kind of incident worse or to be unsafe in production."""
    NO_EFFECT = "no-effect"
    """The action ran but changed nothing observable."""
    ALERT_NOT_FIRED = "alert-not-fired"
    """An alert the runbook names never fired under the fault (or never long enough for its ``for``): the drill's
    fidelity (a compressed outage, a fault the rule does not see), not the runbook's failure."""
    ALERT_NO_DATA = "alert-no-data"
    """An alert the runbook names watches a series the sandbox's Prometheus never had: it would page no one."""
    ALERT_UNCHECKED = "alert-unchecked"
    """An alert the runbook names could not be evaluated (no expression could be derived, the query failed)."""


class Whose(StrEnum):
    """Whose problem a finding is: who has to act on it."""

    RUNBOOK = "runbook"
    """The runbook's authors: fix these lines."""
    SANDBOX = "sandbox"
    """drillbook's sandbox cannot rehearse it; nothing is claimed about the runbook."""
    DRILL = "drill"
    """The drill's own feature file (a command it supplies is wrong)."""


class NoteLevel(StrEnum):
    """How loudly a note should be shown."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)
class ToolVersions:
    """Versions of the tools a drill's commands ran with; ``None`` when the tool was not found."""

    kubectl: str | None = None
    postgresql: str | None = None
    redis: str | None = None
    python: str | None = None


@dataclass(frozen=True, kw_only=True)
class SloCheck:
    """One SLO check of a drill, e.g. ``error_rate < 1 %``.

    ``threshold`` is in ``unit``: ``error_rate``/``availability`` are percent when ``unit`` is ``"%"`` and
    fractions otherwise; latencies are milliseconds unless ``unit`` is ``"s"``.
    """

    metric: str
    op: str
    threshold: float
    unit: str = ""
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class MttrProjection:
    """The parts of a projected MTTR, in seconds."""

    alert_delay_s: float = 0.0
    acknowledge_s: float = 0.0
    operator_s: float = 0.0
    prescribed_waits_s: float = 0.0
    measured_s: float = 0.0

    @property
    def total_s(self) -> float:
        """The projected MTTR."""
        return self.alert_delay_s + self.acknowledge_s + self.operator_s + self.prescribed_waits_s + self.measured_s


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One typed finding about one command of one step."""

    kind: FindingKind
    step: int
    title: str = ""
    command: str = ""
    """The command as the runbook writes it (or the step's title for a prose-only step)."""
    line: int = 0
    """Line of the command in the runbook; 0 when unknown."""
    whose: Whose = Whose.RUNBOOK
    message: str = ""
    """One sentence: what happened, whose problem it is and what to do."""
    counts: bool = True
    """Whether it makes a restored drill *passed with findings* (a runbook defect) or is only shown."""


@dataclass(frozen=True, kw_only=True)
class Unrehearsed:
    """A step (or one command of it) the drill did not rehearse, and why."""

    step: int
    title: str = ""
    command: str = ""
    reason: str = ""
    decisive: bool = False
    """An action: had it run, it could have changed the outcome."""


@dataclass(frozen=True, kw_only=True)
class BaseEvent:
    """Fields every event has."""

    type: ClassVar[EventType]
    ts: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True)
class DrillEvent(BaseEvent):
    """An event inside one drill."""

    drill: str
    t: float = 0.0


@dataclass(frozen=True, kw_only=True)
class RunStarted(BaseEvent):
    """A run (one ``pytest``/``drillbook drill`` invocation) began."""

    type: ClassVar[EventType] = EventType.RUN_STARTED
    run_id: str
    platform: Platform
    platform_label: str = ""
    drillbook_version: str = ""
    git_commit: str | None = None
    versions: ToolVersions = field(default_factory=ToolVersions)
    argv: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION


@dataclass(frozen=True, kw_only=True)
class DrillStarted(DrillEvent):
    """A drill began: what it rehearses and what it must meet."""

    type: ClassVar[EventType] = EventType.DRILL_STARTED
    system: str
    incident_id: str
    incident_title: str
    fault: str
    runbook_path: str
    runbook_sha256: str
    scenario: str
    target_s: float | None = None
    target_text: str = ""
    target_kind: str = ""
    checks: list[SloCheck] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class PhaseChanged(DrillEvent):
    """A phase started, finished or failed."""

    type: ClassVar[EventType] = EventType.PHASE
    phase: Phase
    status: PhaseStatus
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class FaultRevertRecorded(DrillEvent):
    """How to undo a fault, written before the fault is applied (``drillbook cleanup`` reads it)."""

    type: ClassVar[EventType] = EventType.FAULT_REVERT_RECORDED
    fault: str
    revert: str
    spec: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class FaultInjected(DrillEvent):
    """The fault was applied (t0 of the fault window)."""

    type: ClassVar[EventType] = EventType.FAULT_INJECTED
    fault: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class FaultReverted(DrillEvent):
    """The fault was undone (end of the fault window)."""

    type: ClassVar[EventType] = EventType.FAULT_REVERTED
    fault: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SloWindow(DrillEvent):
    """Traffic measured over one window ending at ``t``; percentiles are ``None`` when no request completed."""

    type: ClassVar[EventType] = EventType.SLO_WINDOW
    window_s: float
    requests: int
    errors: int
    error_rate: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    rps: float = 0.0


@dataclass(frozen=True, kw_only=True)
class SloBreached(DrillEvent):
    """An SLO check failed and kept failing for ``held_s``."""

    type: ClassVar[EventType] = EventType.SLO_BREACHED
    check: str
    value: float | None = None
    """The failing window's value; ``None`` also for a latency percentile that fell on failed requests."""
    held_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class SloRestored(DrillEvent):
    """Every SLO check passed again and held for ``held_s``."""

    type: ClassVar[EventType] = EventType.SLO_RESTORED
    check: str
    value: float | None = None
    held_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class StepEvent(DrillEvent):
    """Fields shared by the start and the end of one runbook command."""

    step: int
    title: str
    command_index: int = 0
    as_written: str = ""
    as_run: str = ""
    decision: Decision = Decision.RUNS
    supplied_by_drill: bool = False
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class StepStarted(StepEvent):
    """A runbook command is about to run (or be captured, blocked…)."""

    type: ClassVar[EventType] = EventType.STEP_STARTED


@dataclass(frozen=True, kw_only=True)
class StepFinished(StepEvent):
    """A runbook command ended; ``exit_code`` is ``None`` when it never ran."""

    type: ClassVar[EventType] = EventType.STEP_FINISHED
    exit_code: int | None = None
    output_excerpt: str = ""
    duration_s: float = 0.0
    changed_nothing: bool = False


@dataclass(frozen=True, kw_only=True)
class ControlRun(DrillEvent):
    """The fault's do-nothing control: did the system restore itself with no response over the window?

    ``mode`` is ``off``, ``once`` or ``always``; ``cached`` says the outcome came from an earlier drill of the
    same (system, fault, parameters) in this run (``source`` names it), so this drill did not wait for it.
    ``self_healed`` is ``None`` when no control was run.
    """

    type: ClassVar[EventType] = EventType.CONTROL_RUN
    mode: str
    key: str = ""
    window_s: float = 0.0
    self_healed: bool | None = None
    restored_after_s: float | None = None
    """Seconds from the start of the control window to the moment the SLOs came back (and then held)."""
    cached: bool = False
    source: str = ""
    t_start: float | None = None
    t_end: float | None = None
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class AlertEvaluated(DrillEvent):
    """One alert the runbook names, as the sandbox's Prometheus evaluated it over the drill.

    Times are on the drill's stopwatch: ``pending_t`` when the condition first held, ``firing_t`` when it had held
    for ``for_s`` (it would have paged), ``resolved_t`` the first evaluation after firing where it no longer held
    (``None``: still firing when the drill looked). ``outcome`` is ``fired``, ``never-fired``, ``no-data``,
    ``untranslatable`` or ``query-failed``; ``message`` is the finding's sentence when it is not ``fired``.
    """

    type: ClassVar[EventType] = EventType.ALERT
    name: str
    text: str = ""
    """The alert as the runbook writes it (``Error rate > 5% for 5 minutes``)."""
    line: int = 0
    expr: str = ""
    """The rule's PromQL condition as loaded into Prometheus (empty when none could be derived)."""
    for_s: float = 0.0
    how: str = ""
    """Where the expression came from: the runbook's PromQL verbatim, a derivation from its words, the scenario."""
    rule: str = ""
    """The alerting rule's name in the sandbox's Prometheus; empty when the drill replayed the rule itself."""
    outcome: str = ""
    pending_t: float | None = None
    firing_t: float | None = None
    resolved_t: float | None = None
    peak: float | None = None
    unit: str = ""
    fault_t: float | None = None
    """When the fault was injected (stopwatch), to read the times against."""
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class VerdictReached(DrillEvent):
    """The drill's verdict, with what it was measured against, its findings and what it could not rehearse."""

    type: ClassVar[EventType] = EventType.VERDICT
    verdict: Verdict
    reason: str
    time_to_restore_s: float | None = None
    projected_mttr_s: float | None = None
    projection: MttrProjection | None = None
    target_s: float | None = None
    target_kind: str = ""
    attributed_step: int | None = None
    """The action after which the SLO trend turned and held; ``None`` when not restored or not attributable."""
    attribution: str = ""
    """The attribution in words: ``"step 4 (Create index): p95 turned 0.6 s after it ended"`` or why not."""
    outcome: str = ""
    """Recovery in one phrase: restored, restored late, not restored, not held, not attempted, not judged."""
    findings: list[Finding] = field(default_factory=list)
    unrehearsed: list[Unrehearsed] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class DrillFinished(DrillEvent):
    """The drill ended (after revert and teardown)."""

    type: ClassVar[EventType] = EventType.DRILL_FINISHED


@dataclass(frozen=True, kw_only=True)
class RunFinished(BaseEvent):
    """The run ended."""

    type: ClassVar[EventType] = EventType.RUN_FINISHED


@dataclass(frozen=True, kw_only=True)
class Note(BaseEvent):
    """Anything else worth showing in the report; ``drill`` is ``None`` for run-level notes."""

    type: ClassVar[EventType] = EventType.NOTE
    message: str
    level: NoteLevel = NoteLevel.INFO
    drill: str | None = None
    t: float | None = None


Event = (
    RunStarted
    | DrillStarted
    | PhaseChanged
    | FaultRevertRecorded
    | FaultInjected
    | FaultReverted
    | SloWindow
    | SloBreached
    | SloRestored
    | StepStarted
    | StepFinished
    | ControlRun
    | AlertEvaluated
    | VerdictReached
    | DrillFinished
    | RunFinished
    | Note
)

EVENT_CLASSES: dict[EventType, type[Event]] = {
    cls.type: cls
    for cls in (
        RunStarted,
        DrillStarted,
        PhaseChanged,
        FaultRevertRecorded,
        FaultInjected,
        FaultReverted,
        SloWindow,
        SloBreached,
        SloRestored,
        StepStarted,
        StepFinished,
        ControlRun,
        AlertEvaluated,
        VerdictReached,
        DrillFinished,
        RunFinished,
        Note,
    )
}
"""Which dataclass reads each event type; a type missing here is skipped with a warning when read."""
