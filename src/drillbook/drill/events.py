"""Journal events built from a drill's state: the drill's one vocabulary for what happened."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from drillbook.drill.projection import resolution_target
from drillbook.drill.verdict import Judgement
from drillbook.faults.base import RevertRecord
from drillbook.journal import (
    AlertEvaluated,
    ControlRun,
    DrillFinished,
    DrillStarted,
    FaultInjected,
    FaultReverted,
    FaultRevertRecorded,
    MttrProjection,
    Note,
    Phase,
    PhaseChanged,
    PhaseStatus,
    SloBreached,
    SloCheck,
    SloRestored,
    SloWindow,
    StepFinished,
    StepStarted,
    VerdictReached,
)
from drillbook.runbook.model import Step
from drillbook.slo.alerts import AlertEvaluation
from drillbook.slo.checks import Check
from drillbook.slo.monitor import Breach, Restore
from drillbook.slo.stats import WindowStats

if TYPE_CHECKING:
    from drillbook.drill.control import ControlMode, ControlResult
    from drillbook.drill.ports import CommandOutcome
    from drillbook.drill.session import Drill

_EXCERPT = 2000


def drill_started(drill: Drill, sha256: str) -> DrillStarted:
    """The drill's identity, target and checks."""
    target = drill.incident.time_target
    return DrillStarted(
        drill=drill.drill_id,
        t=drill.t(),
        system=drill.spec.system,
        incident_id=drill.incident.id,
        incident_title=drill.incident.title,
        fault=drill.spec.fault,
        runbook_path=str(drill.runbook.path),
        runbook_sha256=sha256,
        scenario=drill.spec.system,
        target_s=target.seconds if target else None,
        target_text=target.text if target else "",
        target_kind=target.kind.value if target else "",
        checks=[_check(check) for check in drill.plan.checks],
    )


def _check(check: Check) -> SloCheck:
    percent = check.metric.value in ("error_rate", "availability")
    threshold = check.threshold * 100 if percent else check.threshold
    unit = "%" if percent else ("ms" if check.metric.value.startswith("latency") else "rps")
    return SloCheck(metric=check.metric.value, op=check.op, threshold=threshold, unit=unit, text=check.describe())


def phase(drill: Drill, name: Phase, status: PhaseStatus, detail: str) -> PhaseChanged:
    """A phase started, finished or failed."""
    return PhaseChanged(drill=drill.drill_id, t=drill.t(), phase=name, status=status, detail=detail)


def note(drill: Drill, message: str) -> Note:
    """Something worth showing in the report."""
    return Note(drill=drill.drill_id, t=drill.t(), message=message)


def fault_revert_recorded(drill: Drill, record: RevertRecord) -> FaultRevertRecorded:
    """How to undo the fault, before it is applied."""
    return FaultRevertRecorded(
        drill=drill.drill_id, t=drill.t(), fault=record.fault, revert=record.description, spec=dict(record.spec)
    )


def fault_injected(drill: Drill, name: str, params: dict[str, str]) -> FaultInjected:
    """The fault window opens."""
    return FaultInjected(drill=drill.drill_id, t=drill.t(), fault=name, params=dict(params))


def fault_reverted(drill: Drill, name: str, params: dict[str, str]) -> FaultReverted:
    """The fault window closes."""
    return FaultReverted(drill=drill.drill_id, t=drill.t(), fault=name, params=dict(params))


def slo_window(drill: Drill, stats: WindowStats) -> SloWindow:
    """One window of measured traffic."""
    return SloWindow(
        drill=drill.drill_id,
        t=drill.t(stats.t_end),
        window_s=stats.window_s,
        requests=stats.requests,
        errors=stats.errors,
        error_rate=stats.error_rate,
        p50_ms=stats.p50_ms,
        p95_ms=stats.p95_ms,
        p99_ms=stats.p99_ms,
        rps=stats.rps,
    )


def slo_breached(drill: Drill, event: Breach) -> SloBreached:
    """A check failed."""
    # An unserved percentile is infinite (see ``drillbook.slo.checks``); JSON has no infinity, so it goes as null.
    value = event.value if event.value is None or math.isfinite(event.value) else None
    return SloBreached(drill=drill.drill_id, t=drill.t(event.t), check=event.check.describe(), value=value)


def slo_restored(drill: Drill, event: Restore) -> SloRestored:
    """A check came back and held."""
    return SloRestored(
        drill=drill.drill_id,
        t=drill.t(event.since),
        check=event.check.describe(),
        value=event.value,
        held_s=event.held_s,
    )


def step_started(drill: Drill, step: Step) -> StepStarted:
    """A runbook step begins."""
    first = step.commands[0].text if step.commands else ""
    return StepStarted(drill=drill.drill_id, t=drill.t(), step=step.number, title=step.title, as_written=first)


def step_finished(drill: Drill, step: Step, index: int, outcome: CommandOutcome) -> StepFinished:
    """One command of a step ended (or was captured, blocked, …)."""
    output = outcome.output
    if len(output) > _EXCERPT:
        output = output[: _EXCERPT // 2] + "\n…\n" + output[-_EXCERPT // 2 :]
    return StepFinished(
        drill=drill.drill_id,
        t=drill.t(outcome.ended),
        step=step.number,
        title=step.title,
        command_index=index,
        as_written=outcome.as_written,
        as_run=outcome.as_run,
        decision=outcome.decision,
        supplied_by_drill=outcome.supplied_by_drill,
        reason=outcome.reason,
        exit_code=outcome.exit_code,
        output_excerpt=output,
        duration_s=max(0.0, outcome.ended - outcome.started),
        changed_nothing=changed_nothing(outcome),
    )


def changed_nothing(outcome: CommandOutcome) -> bool:
    """The command's output says it changed nothing."""
    # Visible no-ops: kubectl says "unchanged", a terminate query matched no rows, a filter found nothing.
    text = outcome.output
    return any(marker in text for marker in (" unchanged", "(0 rows)", "No resources found"))


def control_off(drill: Drill, key: str) -> ControlRun:
    """No control run for this drill (switched off)."""
    return ControlRun(drill=drill.drill_id, t=drill.t(), mode="off", key=key, detail="control runs are switched off")


def control_run(
    drill: Drill,
    mode: ControlMode,
    key: str,
    result: ControlResult,
    *,
    cached: bool,
    t_start: float | None = None,
) -> ControlRun:
    """The do-nothing control's outcome (run now, or reused from an earlier drill of this run)."""
    return ControlRun(
        drill=drill.drill_id,
        t=drill.t(),
        mode=mode.value,
        key=key,
        window_s=result.window_s,
        self_healed=result.self_healed,
        restored_after_s=result.restored_after_s,
        cached=cached,
        source=result.source,
        t_start=t_start,
        t_end=None if cached else drill.t(),
        detail=result.detail,
    )


def verdict(drill: Drill, judgement: Judgement, attributed_step: int | None, attribution: str) -> VerdictReached:
    """The drill's verdict with its numbers, findings and unrehearsed steps."""
    projection = drill.state.projection
    measured = drill.time_to_restore()
    target = resolution_target(drill.incident)
    return VerdictReached(
        drill=drill.drill_id,
        t=drill.t(),
        verdict=judgement.verdict,
        reason=judgement.reason,
        time_to_restore_s=measured,
        projected_mttr_s=projection.total_s if projection and measured is not None else None,
        projection=MttrProjection(
            alert_delay_s=projection.alert_delay_s,
            acknowledge_s=projection.acknowledge_s,
            operator_s=projection.operator_s,
            prescribed_waits_s=projection.prescribed_waits_s,
            measured_s=projection.measured_s,
        )
        if projection and measured is not None
        else None,
        target_s=target.seconds if target else None,
        target_kind=drill.incident.time_target.kind.value if drill.incident.time_target else "",
        attributed_step=attributed_step,
        attribution=attribution,
        outcome=judgement.outcome,
        findings=list(judgement.findings),
        unrehearsed=list(judgement.unrehearsed),
    )


def alert_evaluated(drill: Drill, evaluation: AlertEvaluation) -> AlertEvaluated:
    """One alert the runbook names: when it went pending, fired and resolved (stopwatch), or why it did not."""
    query = evaluation.query

    def at(epoch: float | None) -> float | None:
        return None if epoch is None else round(drill.t(epoch), 3)

    return AlertEvaluated(
        drill=drill.drill_id,
        t=drill.t(),
        name=evaluation.alert.name or evaluation.alert.text,
        text=evaluation.alert.text,
        line=evaluation.alert.line,
        expr=query.condition if query is not None else "",
        for_s=query.for_seconds if query is not None else 0.0,
        how=query.how if query is not None else evaluation.detail,
        rule=evaluation.rule,
        outcome=evaluation.outcome.value,
        pending_t=at(evaluation.pending_at),
        firing_t=at(evaluation.fired_at),
        resolved_t=at(evaluation.cleared_at),
        peak=evaluation.peak,
        unit=evaluation.alert.unit,
        fault_t=drill.state.t_inject,
        message=evaluation.finding or "",
    )


def drill_finished(drill: Drill) -> DrillFinished:
    """The drill is over."""
    return DrillFinished(drill=drill.drill_id, t=drill.t())
