"""The runbook's alerts reach every report as a timeline row: pending, firing and resolved with their times (and
how long after the fault), or why the alert did not fire."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_journals import GameDay, write_passed

from drillbook.journal import AlertEvaluated, JournalWriter, RunFinished, Verdict, VerdictReached
from drillbook.report import junit_properties, render_reports
from drillbook.report.formatting import alert_state, alert_timeline

DRILL = "zephyr-voting/db-pool"
EXPR = '(sum(rate(http_requests_total{status=~"5.."}[15s])) / sum(rate(http_requests_total[15s])) * 100) > 5'
FIRED = AlertEvaluated(
    drill=DRILL,
    t=59.0,
    name="HighErrorRate",
    text="Error rate > 5% for 2 minutes",
    line=83,
    expr=EXPR,
    for_s=2.0,
    how="error rate: 5xx share of http_requests_total by status, in %",
    rule="HighErrorRate",
    outcome="fired",
    pending_t=12.0,
    firing_t=14.0,
    resolved_t=41.0,
    peak=40.0,
    unit="%",
    fault_t=10.0,
)
SLOW = AlertEvaluated(
    drill=DRILL,
    t=59.0,
    name="SlowBurn",
    text="Error rate > 5% for 10 minutes",
    line=90,
    expr=EXPR,
    for_s=600.0,
    rule="SlowBurn",
    outcome="never-fired",
    pending_t=12.0,
    fault_t=10.0,
    message="your alert would not have paged anyone during this outage: 'SlowBurn' held for at most 28s",
)
UNCHECKED = AlertEvaluated(
    drill=DRILL,
    t=59.0,
    name="WebSockets <x>",
    text="WebSocket Connections > 10,000",
    outcome="untranslatable",
    message="alert 'WebSockets' could not be checked: names no metric the sandbox's Prometheus has",
)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run_dir = tmp_path / "reports" / "run-alerts"
    with JournalWriter(run_dir / "journal.jsonl") as writer:
        g = GameDay(writer)
        g.run_started()
        clock = g.clock
        for alert in (FIRED, SLOW, UNCHECKED):
            writer.write(AlertEvaluated(**{**alert.__dict__, "ts": clock + alert.t}))
        write_passed(g)
        writer.write(RunFinished(ts=g.clock))
    return run_dir


def test_the_timeline_says_each_state_the_alert_reached_with_its_time_after_the_fault() -> None:
    assert alert_timeline(FIRED) == (
        "pending t=12.0 s (fault +2.0 s) · firing t=14.0 s (fault +4.0 s) · resolved t=41.0 s (fault +31.0 s)"
    )
    assert alert_state(FIRED) == "fired and resolved"
    assert alert_state(AlertEvaluated(drill=DRILL, name="x", outcome="fired", firing_t=3.0)) == (
        "fired, still firing at the end"
    )
    assert alert_state(SLOW) == "never fired"
    assert alert_timeline(SLOW) == "pending t=12.0 s (fault +2.0 s)"
    assert alert_state(UNCHECKED) == alert_timeline(UNCHECKED) == "not checked"


def test_the_markdown_has_one_row_per_alert_with_pending_firing_and_resolved(run_dir: Path) -> None:
    markdown = render_reports(run_dir).markdown.read_text()
    assert "#### Alerts the runbooks name (the sandbox's Prometheus)" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| zephyr-voting: ")]
    alert_rows = [r for r in rows if "**fired" in r or "**never" in r or "**not checked" in r]
    assert len(alert_rows) == 3
    fired = alert_rows[0]
    assert "HighErrorRate" in fired
    assert "**fired and resolved**" in fired
    assert "| t=12.0 s (fault +2.0 s) | t=14.0 s (fault +4.0 s) | t=41.0 s (fault +31.0 s) |" in fired
    assert '`(sum(rate(http_requests_total{status=~"5.."}[15s]))' in fired
    assert "for 2s`" in fired
    assert "**never fired**" in alert_rows[1]
    assert "would not have paged anyone" in alert_rows[1]
    assert "WebSockets \\<x>" in alert_rows[2]


def test_the_html_has_an_alert_table_in_the_drills_section(run_dir: Path) -> None:
    html = render_reports(run_dir).html.read_text()
    assert "<h3>Alerts (the sandbox's Prometheus)</h3>" in html
    assert html.count('<tr class="alert-row') == 3
    fired = html.split('<tr class="alert-row alert-fired">', 1)[1].split("</tr>", 1)[0]
    assert "HighErrorRate (line 83)" in fired
    assert "<strong>fired and resolved</strong>" in fired
    assert "<td>t=14.0 s (fault +4.0 s)</td>" in fired
    assert "<td>t=41.0 s (fault +31.0 s)</td>" in fired
    assert "WebSockets &lt;x&gt;" in html


def test_junit_carries_one_alert_property_per_alert() -> None:
    verdict = VerdictReached(drill=DRILL, verdict=Verdict.PASSED, reason="restored")
    properties = junit_properties(verdict, [FIRED, SLOW])
    alerts = [value for name, value in properties if name == "alert"]
    assert alerts == [
        "HighErrorRate: fired and resolved; pending t=12.0 s (fault +2.0 s) · firing t=14.0 s (fault +4.0 s) · "
        "resolved t=41.0 s (fault +31.0 s)",
        "SlowBurn: never fired; pending t=12.0 s (fault +2.0 s)",
    ]
    assert [name for name, _ in junit_properties(verdict)].count("alert") == 0


def test_summary_json_lists_each_alert_with_its_times(run_dir: Path) -> None:
    drill = json.loads(render_reports(run_dir).json.read_text())["drills"][0]
    fired, slow, unchecked = drill["alerts"]
    assert (fired["name"], fired["outcome"], fired["rule"]) == ("HighErrorRate", "fired", "HighErrorRate")
    assert (fired["pending_t"], fired["firing_t"], fired["resolved_t"], fired["fault_t"]) == (12.0, 14.0, 41.0, 10.0)
    assert slow["firing_t"] is None
    assert "would not have paged anyone" in slow["message"]
    assert unchecked["outcome"] == "untranslatable"
