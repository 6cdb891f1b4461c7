"""``summary.md``: a short Markdown digest for a CI job summary (``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from drillbook.report.formatting import duration, versus
from drillbook.report.model import Outcome, RunSummary

ICONS: dict[Outcome, str] = {
    Outcome.PASSED: "✅",
    Outcome.FAILED: "❌",
    Outcome.VACUOUS: "⚠️",
    Outcome.INVALID: "⚠️",
    Outcome.ERROR: "💥",
    Outcome.INTERRUPTED: "⏹️",
}

REASON_LIMIT = 300


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    flat = " ".join(text.split())
    if len(flat) > REASON_LIMIT:
        flat = flat[: REASON_LIMIT - 1] + "…"
    return flat.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render_markdown(run: RunSummary) -> str:
    """The digest: one headline, the platform, and one table row per drill."""
    counts = ", ".join(f"{count} {outcome.value}" for outcome, count in run.counts().items() if count)
    lines = [
        f"### drillbook run `{_cell(run.run_id)}`: {counts or 'no drills'}",
        "",
        f"Platform: {_cell(run.platform_statement)}",
        "",
    ]
    if not run.finished:
        lines += ["**The run did not finish: its journal stops early.**", ""]
    if run.drills:
        lines += [
            "| | system | incident | fault | verdict | time to restore | projected MTTR | reason |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for drill in run.drills:
            lines.append(
                f"| {ICONS[drill.outcome]} | {_cell(drill.system)} | {_cell(drill.incident)} | {_cell(drill.fault)} "
                f"| **{drill.outcome.value}** | {duration(drill.time_to_restore_s)} "
                f"| {_cell(versus(drill.projected_mttr_s, drill.target_s))} | {_cell(drill.reason)} |"
            )
        lines.append("")
    lines.append("Full report: `index.html` in the run directory.")
    return "\n".join(lines) + "\n"
