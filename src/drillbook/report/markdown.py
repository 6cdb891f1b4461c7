"""``summary.md``: a Markdown digest for a CI job summary (``$GITHUB_STEP_SUMMARY``).

Escaping is by context, as GitHub Flavored Markdown reads it: inside a code span nothing is decoded, so only
``|`` becomes ``\\|`` (which GFM tables honour even there) and a command holding a backtick gets a longer fence;
outside code spans ``\\``, ``<``, ``*``, ``_`` and stray backticks are backslash-escaped (and ``|`` in a table).
Nothing is ever cut: every finding of every drill is listed.
"""

from __future__ import annotations

import re

from drillbook.report.formatting import alert_state, alert_time, duration, versus
from drillbook.report.model import DrillSummary, Outcome, RunSummary

ICONS: dict[Outcome, str] = {
    Outcome.PASSED: "✅",
    Outcome.PASSED_WITH_FINDINGS: "☑️",
    Outcome.FAILED: "❌",
    Outcome.INCONCLUSIVE: "❔",
    Outcome.VACUOUS: "⚠️",
    Outcome.INVALID: "⚠️",
    Outcome.ERROR: "💥",
    Outcome.INTERRUPTED: "⏹️",
}

_TICKS = re.compile(r"`+")
_PLAIN = re.compile(r"([\\<*_`])")


def split_code(text: str) -> list[tuple[bool, str]]:
    """``text`` as (is code, content) segments, reading code spans as CommonMark does (a run of n backticks
    closes only at the next run of exactly n); an unmatched backtick run is plain text."""
    segments: list[tuple[bool, str]] = []
    plain: list[str] = []
    pos = 0
    while pos < len(text):
        opening = _TICKS.search(text, pos)
        if opening is None:
            plain.append(text[pos:])
            break
        plain.append(text[pos : opening.start()])
        fence = opening.group()
        closing = next((m for m in _TICKS.finditer(text, opening.end()) if len(m.group()) == len(fence)), None)
        if closing is None:
            plain.append(fence)
            pos = opening.end()
            continue
        if "".join(plain):
            segments.append((False, "".join(plain)))
        plain = []
        content = text[opening.end() : closing.start()]
        if len(content) > 2 and content.startswith(" ") and content.endswith(" ") and content.strip():
            content = content[1:-1]
        segments.append((True, content))
        pos = closing.end()
    if plain and "".join(plain):
        segments.append((False, "".join(plain)))
    return segments


def code_span(content: str, *, table: bool = False) -> str:
    """``content`` as one code span: a fence longer than any backtick run inside, ``|`` escaped in a table."""
    flat = " ".join(content.split())
    longest = max((len(m.group()) for m in _TICKS.finditer(flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    if table:
        flat = flat.replace("|", "\\|")
    return f"{fence}{pad}{flat}{pad}{fence}"


def inline(text: str, *, table: bool = False) -> str:
    """Text with code spans as one line of Markdown, escaped by context (see the module docstring)."""
    out: list[str] = []
    for is_code, content in split_code(" ".join(text.split())):
        if is_code:
            out.append(code_span(content, table=table))
        else:
            escaped = _PLAIN.sub(r"\\\1", content)
            out.append(escaped.replace("|", "\\|") if table else escaped)
    return "".join(out)


def _restore(drill: DrillSummary) -> str:
    outcome = drill.verdict.outcome if drill.verdict and drill.verdict.outcome else ""
    measured = duration(drill.time_to_restore_s)
    if drill.time_to_restore_s is not None:
        return f"{outcome or 'restored'} after {measured}"
    return outcome or "—"


def _control(drill: DrillSummary) -> str:
    control = drill.control
    if control is None:
        return "not recorded"
    if control.mode == "off" or control.self_healed is None:
        return "off"
    result = "self-healed" if control.self_healed else f"no self-heal in {control.window_s:.0f} s"
    return f"{result} (cached)" if control.cached else result


def render_markdown(run: RunSummary) -> str:
    """The digest: one headline, the platform, one table row per drill, then every finding of every drill."""
    counts = ", ".join(f"{count} {outcome.label}" for outcome, count in run.counts().items() if count)
    lines = [
        f"### drillbook run {code_span(run.run_id)}: {counts or 'no drills'}",
        "",
        f"Platform: {inline(run.platform_statement)}",
        "",
    ]
    if not run.finished:
        lines += ["**The run did not finish: its journal stops early.**", ""]
    if run.drills:
        lines += [
            "| | system | incident | fault | verdict | recovery | projected MTTR | control | reason |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for drill in run.drills:
            cells = [
                ICONS.get(drill.outcome, "?"),
                inline(drill.system, table=True),
                inline(drill.incident, table=True),
                inline(drill.fault, table=True),
                f"**{drill.outcome.label}**",
                inline(_restore(drill), table=True),
                inline(versus(drill.projected_mttr_s, drill.target_s), table=True),
                inline(_control(drill), table=True),
                inline(drill.reason, table=True),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines += _alerts(run)
        lines += _findings(run)
    lines.append("Full report: `index.html` in the run directory.")
    return "\n".join(lines) + "\n"


def _alerts(run: RunSummary) -> list[str]:
    """One timeline row per alert the runbooks name: when it went pending, fired and resolved, or why not."""
    rows: list[str] = []
    for drill in run.drills:
        for alert in drill.alerts:
            rule = f"{alert.expr} for {alert.for_s:g}s" if alert.for_s else alert.expr
            cells = [
                inline(f"{drill.system}: {drill.incident}", table=True),
                inline(alert.name, table=True),
                code_span(rule, table=True) if rule else "—",
                f"**{alert_state(alert)}**",
                alert_time(alert.pending_t, alert.fault_t),
                alert_time(alert.firing_t, alert.fault_t),
                alert_time(alert.resolved_t, alert.fault_t),
                inline(alert.message or alert.how, table=True),
            ]
            rows.append("| " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        "#### Alerts the runbooks name (the sandbox's Prometheus)",
        "",
        "| drill | alert | rule | state | pending | firing | resolved | note |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _findings(run: RunSummary) -> list[str]:
    lines: list[str] = []
    for drill in run.drills:
        if not drill.findings and not drill.unrehearsed:
            continue
        if not lines:
            lines += ["#### Findings and steps not rehearsed", ""]
        lines.append(f"**{inline(drill.system)}: {inline(drill.incident)}** ({drill.outcome.label})")
        lines.append("")
        for finding in drill.findings:
            where = f", line {finding.line}" if finding.line else ""
            lines.append(
                f"- step {finding.step} · **{finding.kind.value}** · {finding.whose.value}{where}: "
                f"{inline(finding.message)} {code_span(finding.command) if finding.command else ''}".rstrip()
            )
        for skipped in drill.unrehearsed:
            critical = " (decides the outcome)" if skipped.decisive else ""
            lines.append(
                f"- not rehearsed: step {skipped.step}{critical}: {inline(skipped.reason)} "
                f"{code_span(skipped.command) if skipped.command else ''}".rstrip()
            )
        lines.append("")
    return lines
