"""``summary.txt``: the run as plain text for a terminal (``drillbook gameday`` prints it).

No Markdown and no HTML entities: commands are shown as written, every finding and every step not rehearsed
is listed.
"""

from __future__ import annotations

from drillbook.report.formatting import duration, versus
from drillbook.report.model import DrillSummary, RunSummary


def render_text(run: RunSummary) -> str:
    """The digest as plain text."""
    counts = ", ".join(f"{count} {outcome.label}" for outcome, count in run.counts().items() if count)
    lines = [f"drillbook run {run.run_id}: {counts or 'no drills'}", f"Platform: {run.platform_statement}"]
    if not run.finished:
        lines.append("The run did not finish: its journal stops early.")
    for drill in run.drills:
        lines += ["", *_drill(drill)]
    return "\n".join(lines) + "\n"


def _drill(drill: DrillSummary) -> list[str]:
    lines = [f"{drill.outcome.label.upper():<22} {drill.system}: {drill.incident} (fault {drill.fault})"]
    outcome = drill.verdict.outcome if drill.verdict and drill.verdict.outcome else ""
    restored = f" after {duration(drill.time_to_restore_s)}" if drill.time_to_restore_s is not None else ""
    lines.append(
        f"  recovery: {outcome or '—'}{restored}; projected MTTR {versus(drill.projected_mttr_s, drill.target_s)}"
    )
    if drill.verdict and drill.verdict.attribution:
        lines.append(f"  credited to: {drill.verdict.attribution}")
    if drill.control is not None:
        lines.append(f"  control: {_control(drill)}")
    lines.append(f"  reason: {' '.join(drill.reason.split())}")
    if drill.findings:
        lines.append("  findings:")
        for finding in drill.findings:
            where = f", line {finding.line}" if finding.line else ""
            lines.append(
                f"    step {finding.step} {finding.kind.value} ({finding.whose.value}{where}): {finding.message}"
            )
            if finding.command:
                lines.append(f"      command: {' '.join(finding.command.split())}")
    if drill.unrehearsed:
        lines.append("  not rehearsed:")
        for skipped in drill.unrehearsed:
            critical = " [decides the outcome]" if skipped.decisive else ""
            lines.append(f"    step {skipped.step}{critical}: {skipped.reason}")
    return lines


def _control(drill: DrillSummary) -> str:
    control = drill.control
    assert control is not None
    if control.mode == "off" or control.self_healed is None:
        return "off (no do-nothing control was run)"
    verdict = "the system healed by itself" if control.self_healed else "no self-heal"
    source = f", cached from {control.source}" if control.cached and control.source else ""
    return f"{verdict} within {control.window_s:.0f} s with no response ({control.mode}{source})"
