"""``summary.json``: a versioned, machine-readable digest of the run for CI and dashboards."""

from __future__ import annotations

import json
import math

from drillbook.report.formatting import timestamp
from drillbook.report.model import DrillSummary, RunSummary

SUMMARY_SCHEMA_VERSION = 2
"""Bumped when a key changes meaning or disappears; added keys do not bump it.

2: ``verdict`` may be ``passed_with_findings`` or ``inconclusive``; each drill lists ``findings``,
``unrehearsed``, ``recovery``, ``attribution`` and its ``control`` run. Added since: ``alerts``, one entry per alert
the runbook names (``outcome``; ``pending_t``/``firing_t``/``resolved_t`` on the drill's stopwatch)."""


def _number(value: float | None) -> float | None:
    # JSON has no NaN or infinity; an unmeasurable number is null.
    if value is None or not math.isfinite(value):
        return None
    return round(value, 3)


def _drill(run: RunSummary, drill: DrillSummary) -> dict[str, object]:
    started = drill.started
    return {
        "drill": drill.drill,
        "system": drill.system,
        "incident": drill.incident,
        "incident_id": started.incident_id if started else None,
        "fault": drill.fault,
        "verdict": drill.outcome.value,
        "interrupted": drill.interrupted,
        "reason": drill.reason,
        "time_to_restore_s": _number(drill.time_to_restore_s),
        "projected_mttr_s": _number(drill.projected_mttr_s),
        "target_s": _number(drill.target_s),
        "platform": run.platform,
        "runbook_path": started.runbook_path if started else None,
        "runbook_sha256": started.runbook_sha256 if started else None,
        "steps": len(drill.steps),
        "started": timestamp(drill.started_ts),
        "recovery": drill.verdict.outcome if drill.verdict else None,
        "attributed_step": drill.verdict.attributed_step if drill.verdict else None,
        "attribution": drill.verdict.attribution if drill.verdict else None,
        "findings": [
            {
                "kind": f.kind.value,
                "step": f.step,
                "title": f.title,
                "command": f.command,
                "line": f.line,
                "whose": f.whose.value,
                "counts": f.counts,
                "message": f.message,
            }
            for f in drill.findings
        ],
        "finding_kinds": sorted({f.kind.value for f in drill.findings}),
        "unrehearsed": [
            {"step": u.step, "title": u.title, "command": u.command, "reason": u.reason, "decisive": u.decisive}
            for u in drill.unrehearsed
        ],
        "control": _control(drill),
        "alerts": [
            {
                "name": a.name,
                "text": a.text,
                "line": a.line,
                "rule": a.rule,
                "expr": a.expr,
                "for_s": _number(a.for_s),
                "how": a.how,
                "outcome": a.outcome,
                "pending_t": _number(a.pending_t),
                "firing_t": _number(a.firing_t),
                "resolved_t": _number(a.resolved_t),
                "fault_t": _number(a.fault_t),
                "peak": _number(a.peak),
                "message": a.message,
            }
            for a in drill.alerts
        ],
    }


def _control(drill: DrillSummary) -> dict[str, object] | None:
    control = drill.control
    if control is None:
        return None
    return {
        "mode": control.mode,
        "key": control.key,
        "window_s": _number(control.window_s),
        "self_healed": control.self_healed,
        "restored_after_s": _number(control.restored_after_s),
        "cached": control.cached,
        "source": control.source,
    }


def render_json(run: RunSummary) -> str:
    """The summary document, pretty-printed."""
    info = run.run
    versions = run.versions
    document: dict[str, object] = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run": {
            "run_id": run.run_id,
            "platform": run.platform,
            "platform_label": info.platform_label if info else None,
            "platform_statement": run.platform_statement,
            "drillbook_version": info.drillbook_version if info else None,
            "git_commit": info.git_commit if info else None,
            "versions": {
                "kubectl": versions.kubectl,
                "postgresql": versions.postgresql,
                "redis": versions.redis,
                "python": versions.python,
            },
            "started": timestamp(run.started_ts),
            "ended": timestamp(run.ended_ts),
            "finished": run.finished is not None,
            "journal_warnings": run.warnings,
        },
        "counts": {outcome.value: count for outcome, count in run.counts().items()},
        "drills": [_drill(run, drill) for drill in run.drills],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
