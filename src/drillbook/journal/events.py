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

SCHEMA_VERSION = 1
"""Bumped when a field changes meaning or disappears; new optional fields and new event types do not bump it."""

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
    """A drill's verdict as journaled (same values as ``drillbook.drill.verdict.Verdict``)."""

    PASSED = "passed"
    FAILED = "failed"
    VACUOUS = "vacuous"
    INVALID = "invalid"
    ERROR = "error"


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
class VerdictReached(DrillEvent):
    """The drill's verdict, with what it was measured against."""

    type: ClassVar[EventType] = EventType.VERDICT
    verdict: Verdict
    reason: str
    time_to_restore_s: float | None = None
    projected_mttr_s: float | None = None
    projection: MttrProjection | None = None
    target_s: float | None = None
    attributed_step: int | None = None


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
        VerdictReached,
        DrillFinished,
        RunFinished,
        Note,
    )
}
"""Which dataclass reads each event type; a type missing here is skipped with a warning when read."""
