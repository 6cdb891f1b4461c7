"""The run's ``index.html``: one self-contained page (inline CSS and SVG, no scripts, no network).

Every piece of runbook or command text goes through :func:`html.escape`; the page works from
``file://`` and as a CI artifact.
"""

from __future__ import annotations

from html import escape

from drillbook.journal import Platform
from drillbook.report.formatting import alert_state, alert_time, clip, duration, timestamp, versus
from drillbook.report.model import DrillSummary, Outcome, RunSummary, StepRow
from drillbook.report.svg import timeline_svg

OUTPUT_LIMIT = 4000
"""Characters of a command's output shown per step; the journal keeps what the executor kept."""

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:16px 24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:32px 0 8px;border-top:1px solid #d8dce3;padding-top:16px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #d8dce3;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f3f5f8}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:6px;margin:4px 0;max-height:400px;
overflow:auto}
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;color:#fff}
.v-passed{background:#1a7f37}.v-passed_with_findings{background:#4d8f2a}.v-failed{background:#cf222e}
.v-inconclusive{background:#6e7781}.v-vacuous{background:#9a6700}
.v-invalid{background:#8250df}.v-error{background:#57606a}.v-interrupted{background:#bc4c00}
.platform{padding:8px 12px;border-radius:6px;margin:8px 0;background:#ddf4ff;border:1px solid #54aeff}
.platform.rehearsal{background:#fff8c5;border-color:#d4a72c}
.warn{padding:6px 10px;background:#fff1e5;border:1px solid #fb8f44;border-radius:6px;margin:4px 0}
.reason{margin:6px 0 10px}.muted{color:#57606a}.evidence th{width:220px}
.d-runs{color:#1a7f37}.d-blocked,.d-missing_tool{color:#cf222e;font-weight:600}.d-manual{color:#9a6700}
svg.timeline{max-width:100%;height:auto;font:11px system-ui,sans-serif}
svg .plot{fill:none;stroke:#d8dce3}svg .grid{stroke:#eef0f3}svg .axis{stroke:#57606a}
svg .tick{fill:#57606a}svg .axis-label{fill:#1d2330;font-size:12px}
svg .series{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
svg .error-rate{stroke:#cf222e}svg .p95{stroke:#0969da}
svg .threshold{stroke:#1d2330;stroke-dasharray:6 4;stroke-width:1.2}svg .threshold-label{fill:#1d2330}
svg .fault-window{fill:#ffb1b1;fill-opacity:.28}svg .fault-label{fill:#a40e26;font-weight:600}
svg .step-marker{stroke:#8250df;stroke-dasharray:2 3}svg .step-label{fill:#8250df;font-weight:600}
svg .breach-marker{stroke:#bc4c00;stroke-width:2}svg .breach-label{fill:#bc4c00;font-weight:600}
svg .restore-marker{stroke:#1a7f37;stroke-width:2}svg .restore-label{fill:#1a7f37;font-weight:600}
svg .empty{fill:#57606a;font-size:13px}
svg .control-window{fill:#8c959f;fill-opacity:.22}svg .control-label{fill:#424a53;font-weight:600}
.findings td.kind{white-space:nowrap;font-weight:600}.w-sandbox{color:#57606a}.w-runbook{color:#cf222e}
.w-drill{color:#8250df}.timeline-row{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
.timeline-row .chart{flex:1 1 640px;min-width:0}.control{flex:0 0 220px;padding:8px 10px;border:1px solid #d8dce3;
border-radius:6px;background:#f6f8fa}.control h4{margin:0 0 6px;font-size:13px}
"""


def render_html(run: RunSummary) -> str:
    """The whole page as one string."""
    title = f"drillbook report — run {run.run_id}"
    body = [
        f"<h1>{escape(title)}</h1>",
        _platform_banner(run),
        _counts(run),
        *_warnings(run),
        "<h2>Summary</h2>",
        _summary_table(run),
        *(_drill_section(run, index, drill) for index, drill in enumerate(run.drills)),
        "<h2>Run evidence</h2>",
        _run_evidence(run),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # No external requests at all: the page must be trustworthy as an offline CI artifact.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _badge(outcome: Outcome) -> str:
    return f'<span class="verdict v-{outcome.value}">{outcome.label}</span>'


def _platform_banner(run: RunSummary) -> str:
    rehearsal = run.run is None or run.run.platform is Platform.LOCAL
    css = "platform rehearsal" if rehearsal else "platform"
    return f'<p class="{css}"><strong>Platform:</strong> {escape(run.platform_statement)}</p>'


def _counts(run: RunSummary) -> str:
    parts = [f"{_badge(outcome)} {count}" for outcome, count in run.counts().items() if count]
    drills = f"{len(run.drills)} drill{'s' if len(run.drills) != 1 else ''}"
    ended = "" if run.finished else " — <strong>the run did not finish</strong> (its journal stops early)"
    return f"<p>{drills}: {' '.join(parts) or 'none'}{ended}</p>"


def _warnings(run: RunSummary) -> list[str]:
    out = [f'<p class="warn">Journal: {escape(w)}</p>' for w in run.warnings]
    out += [f'<p class="warn">{escape(n.level.value)}: {escape(n.message)}</p>' for n in run.notes]
    return out


def _anchor(index: int) -> str:
    return f"drill-{index + 1}"


def _summary_table(run: RunSummary) -> str:
    rows = [
        '<table class="summary"><thead><tr><th>drill</th><th>system</th><th>incident</th><th>fault</th>'
        "<th>verdict</th><th>recovery</th><th>findings</th><th>measured time to restore</th>"
        "<th>projected MTTR vs target</th><th>platform</th></tr></thead><tbody>"
    ]
    for index, drill in enumerate(run.drills):
        rows.append(
            f'<tr class="drill-row"><td><a href="#{_anchor(index)}">{escape(drill.drill)}</a></td>'
            f"<td>{escape(drill.system)}</td><td>{escape(drill.incident)}</td><td>{escape(drill.fault)}</td>"
            f"<td>{_badge(drill.outcome)}</td><td>{escape(_recovery(drill))}</td>"
            f"<td>{escape(_kinds(drill))}</td><td>{duration(drill.time_to_restore_s)}</td>"
            f"<td>{escape(versus(drill.projected_mttr_s, drill.target_s))}</td><td>{escape(run.platform)}</td></tr>"
        )
    if not run.drills:
        rows.append('<tr><td colspan="10" class="muted">the journal records no drills</td></tr>')
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _drill_section(run: RunSummary, index: int, drill: DrillSummary) -> str:
    started = drill.started
    scenario = f'<p class="muted">Scenario: {escape(started.scenario)}</p>' if started else ""
    parts = [
        f'<section class="drill" id="{_anchor(index)}">',
        f"<h2>{escape(drill.system)}: {escape(drill.incident)} {_badge(drill.outcome)}</h2>",
        scenario,
        f'<p class="reason"><strong>Verdict — {drill.outcome.label}:</strong> {escape(drill.reason)}</p>',
        "<h3>Findings</h3>",
        _findings(drill),
        "<h3>Steps not rehearsed</h3>",
        _unrehearsed(drill),
        _times(drill),
        "<h3>SLO timeline</h3>",
        f'<div class="timeline-row"><div class="chart">{timeline_svg(drill)}</div>{_control_panel(drill)}</div>',
        _alert_table(drill),
        "<h3>Runbook steps</h3>",
        _step_table(drill.steps),
        *(
            f'<p class="warn">{escape(n.level.value)} at t={n.t or 0:.1f} s: {escape(n.message)}</p>'
            for n in drill.notes
        ),
        "<h3>Evidence</h3>",
        _drill_evidence(run, drill),
        "</section>",
    ]
    return "\n".join(p for p in parts if p)


def _alert_table(drill: DrillSummary) -> str:
    """One timeline row per alert the runbook names: pending, firing and resolved times, or why it did not fire."""
    if not drill.alerts:
        return ""
    rows = [
        "<h3>Alerts (the sandbox's Prometheus)</h3>",
        '<table class="alerts"><thead><tr><th>alert</th><th>rule</th><th>state</th><th>pending</th><th>firing</th>'
        "<th>resolved</th><th>note</th></tr></thead><tbody>",
    ]
    for alert in drill.alerts:
        rule = f"{alert.expr} for {alert.for_s:g}s" if alert.for_s else alert.expr
        line = f" (line {alert.line})" if alert.line else ""
        rows.append(
            f'<tr class="alert-row alert-{escape(alert.outcome)}"><td>{escape(alert.name)}{escape(line)}</td>'
            f"<td><code>{escape(rule) or '—'}</code></td><td><strong>{escape(alert_state(alert))}</strong></td>"
            f"<td>{escape(alert_time(alert.pending_t, alert.fault_t))}</td>"
            f"<td>{escape(alert_time(alert.firing_t, alert.fault_t))}</td>"
            f"<td>{escape(alert_time(alert.resolved_t, alert.fault_t))}</td>"
            f"<td>{escape(alert.message or alert.how)}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _recovery(drill: DrillSummary) -> str:
    return drill.verdict.outcome if drill.verdict and drill.verdict.outcome else "—"


def _kinds(drill: DrillSummary) -> str:
    kinds: dict[str, int] = {}
    for finding in drill.findings:
        kinds[finding.kind.value] = kinds.get(finding.kind.value, 0) + 1
    return ", ".join(f"{kind} ×{count}" if count > 1 else kind for kind, count in kinds.items()) or "none"


def _findings(drill: DrillSummary) -> str:
    if not drill.findings:
        return '<p class="muted">No findings.</p>'
    rows = [
        '<table class="findings"><thead><tr><th>step</th><th>finding</th><th>whose</th><th>what to do</th>'
        "<th>command as written</th></tr></thead><tbody>"
    ]
    for finding in drill.findings:
        line = f" (line {finding.line})" if finding.line else ""
        counts = "" if finding.counts else '<br><span class="muted">shown only; does not change the verdict</span>'
        rows.append(
            f'<tr class="finding-row"><td>{finding.step}{escape(line)}</td>'
            f'<td class="kind">{escape(finding.kind.value)}</td>'
            f'<td class="w-{escape(finding.whose.value)}">{escape(finding.whose.value)}</td>'
            f"<td>{escape(finding.message)}{counts}</td><td><code>{escape(finding.command)}</code></td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _unrehearsed(drill: DrillSummary) -> str:
    if not drill.unrehearsed:
        return '<p class="muted">Every step was rehearsed.</p>'
    items = []
    for skipped in drill.unrehearsed:
        critical = " <strong>(decides the outcome)</strong>" if skipped.decisive else ""
        command = f" <code>{escape(skipped.command)}</code>" if skipped.command else ""
        items.append(
            f'<li class="unrehearsed">step {skipped.step} ({escape(skipped.title)}){critical}: '
            f"{escape(skipped.reason)}{command}</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def _control_panel(drill: DrillSummary) -> str:
    control = drill.control
    if control is None:
        body = '<p class="muted">No control run recorded.</p>'
    elif control.mode == "off" or control.self_healed is None:
        body = '<p class="muted">Control runs are off: self-healing was not ruled out.</p>'
    else:
        result = "healed by itself" if control.self_healed else "did <strong>not</strong> heal by itself"
        after = (
            f" ({duration(control.restored_after_s)} into the window)" if control.restored_after_s is not None else ""
        )
        cached = f"<br>cached from {escape(control.source)}" if control.cached and control.source else ""
        window = (
            f"<br>window t={control.t_start:.1f}–{control.t_end:.1f} s"
            if control.t_start is not None and control.t_end is not None
            else ""
        )
        body = (
            f"<p>With no response for {duration(control.window_s)}, the system {result}{after}.{cached}{window}</p>"
            f'<p class="muted">mode: {escape(control.mode)}</p>'
        )
    return f'<aside class="control"><h4>Control run (no response)</h4>{body}</aside>'


def _times(drill: DrillSummary) -> str:
    rows = [
        ("measured time to restore", duration(drill.time_to_restore_s)),
        ("projected MTTR", versus(drill.projected_mttr_s, drill.target_s)),
    ]
    if drill.started and drill.started.target_text:
        rows.append(("runbook target as written", drill.started.target_text))
    projection = drill.verdict.projection if drill.verdict else None
    if projection is not None:
        rows.append(
            (
                "projection",
                f"alert delay {duration(projection.alert_delay_s)} + acknowledge {duration(projection.acknowledge_s)}"
                f" + operator {duration(projection.operator_s)} + prescribed waits "
                f"{duration(projection.prescribed_waits_s)} + measured {duration(projection.measured_s)}",
            )
        )
    if drill.verdict and drill.verdict.attribution:
        rows.append(("restore credited to", drill.verdict.attribution))
    elif drill.verdict and drill.verdict.outcome == "restored":
        rows.append(("restore credited to", "not attributable"))
    checks = "; ".join(c.text or f"{c.metric} {c.op} {c.threshold:g}{c.unit}" for c in drill.checks)
    rows.append(("SLO checks", checks or "none journaled"))
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="times evidence">{body}</table>'


def _step_table(steps: list[StepRow]) -> str:
    if not steps:
        return '<p class="muted">No runbook step was journaled.</p>'
    rows = [
        '<table class="steps"><thead><tr><th>#</th><th>step</th><th>as written</th><th>as run</th>'
        "<th>policy decision</th><th>exit code</th><th>duration</th><th>output</th></tr></thead><tbody>"
    ]
    for row in steps:
        decision = escape(row.decision.value)
        if row.supplied_by_drill:
            decision += "<br><em>supplied by the drill, not the runbook</em>"
        if row.changed_nothing:
            decision += "<br><em>changed nothing</em>"
        if row.reason:
            decision += f'<br><span class="muted">{escape(row.reason)}</span>'
        if not row.finished:
            decision += "<br><strong>never finished</strong>"
        exit_code = "—" if row.exit_code is None else str(row.exit_code)
        output = (
            f"<details><summary>{len(row.output_excerpt.splitlines())} lines</summary>"
            f"<pre>{escape(clip(row.output_excerpt, OUTPUT_LIMIT))}</pre></details>"
            if row.output_excerpt
            else '<span class="muted">none</span>'
        )
        as_run = row.as_run if row.as_run != row.as_written else "(same as written)"
        rows.append(
            f'<tr class="step-row"><td>{row.step}.{row.command_index + 1}</td><td>{escape(row.title)}</td>'
            f"<td><code>{escape(row.as_written)}</code></td><td><code>{escape(as_run)}</code></td>"
            f'<td class="d-{escape(row.decision.value)}">{decision}</td><td>{exit_code}</td>'
            f"<td>{duration(row.duration_s)}</td><td>{output}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


def _drill_evidence(run: RunSummary, drill: DrillSummary) -> str:
    started = drill.started
    rows = [
        ("drill id", drill.drill),
        ("runbook", started.runbook_path if started else "—"),
        ("runbook sha256", started.runbook_sha256 if started else "—"),
        ("incident id", started.incident_id if started else "—"),
        ("fault", drill.fault),
    ]
    rows += [(f"revert recorded for {r.fault}", r.revert) for r in drill.reverts]
    rows += [
        ("platform", run.platform_statement),
        ("started", timestamp(drill.started_ts)),
        ("ended", timestamp(drill.finished.ts) if drill.finished else f"{timestamp(drill.last_ts)} (last event)"),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>" for k, v in rows)
    return f'<table class="evidence">{body}</table>'


def _run_evidence(run: RunSummary) -> str:
    info = run.run
    versions = run.versions
    rows = [
        ("run id", run.run_id),
        ("platform", run.platform_statement),
        ("platform details", (info.platform_label if info else "") or "not recorded"),
        ("git commit", (info.git_commit if info else None) or "unknown"),
        ("drillbook version", info.drillbook_version if info else "unknown"),
        ("kubectl", versions.kubectl or "not recorded"),
        ("PostgreSQL", versions.postgresql or "not recorded"),
        ("Redis", versions.redis or "not recorded"),
        ("Python", versions.python or "not recorded"),
        ("command line", " ".join(info.argv) if info else "unknown"),
        ("started", timestamp(run.started_ts)),
        ("ended", timestamp(run.ended_ts) + ("" if run.finished else " (last event; the run did not finish)")),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>" for k, v in rows)
    return f'<table class="evidence run-evidence">{body}</table>'
