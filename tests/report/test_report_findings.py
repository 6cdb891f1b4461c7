"""Every finding reaches every report: the Markdown escapes by context, the terminal gets plain text, the HTML
leads with verdict, findings and unrehearsed steps, and JUnit carries them as properties."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_journals import LONG_TAIL, STALE_SQL, TICKED

from drillbook.journal import Finding, FindingKind, Verdict, VerdictReached, Whose
from drillbook.report import junit_properties, render_reports
from drillbook.report.markdown import code_span, inline, split_code


def test_the_markdown_lists_every_finding_in_full(game_day_dir: Path) -> None:
    markdown = render_reports(game_day_dir).markdown.read_text()
    assert "more)" not in markdown
    assert LONG_TAIL in markdown  # never cut
    items = [line for line in markdown.splitlines() if line.startswith("- step")]
    assert len(items) == 4  # three for RB-008, one for RB-003
    assert any("**harmful**" in line and "line 52" in line for line in items)
    assert "- not rehearsed: step 7 (decides the outcome): missing tool" in markdown


def test_every_code_span_in_the_markdown_is_balanced(game_day_dir: Path) -> None:
    markdown = render_reports(game_day_dir).markdown.read_text()
    for line in markdown.splitlines():
        for is_code, content in split_code(line):
            if not is_code:
                assert "`" not in content.replace("\\`", ""), line


@pytest.mark.parametrize(
    ("text", "table", "expected"),
    [
        ("kubectl logs <pod>", False, "kubectl logs \\<pod>"),
        ("run `kubectl logs <pod>` now", False, "run `kubectl logs <pod>` now"),
        ("`a | b` and c | d", True, "`a \\| b` and c \\| d"),
        ("`a | b`", False, "`a | b`"),
        ("p95 > 300ms, *not* __this__", False, "p95 > 300ms, \\*not\\* \\_\\_this\\_\\_"),
        ("query_start < now()", False, "query\\_start \\< now()"),
        ("a lone ` tick", False, "a lone \\` tick"),
        ("``grep `hostname` ``", False, "`` grep `hostname` ``"),
        ("C:\\path", False, "C:\\\\path"),
        ("`C:\\path`", False, "`C:\\path`"),
    ],
)
def test_markdown_escapes_by_context(text: str, table: bool, expected: str) -> None:
    assert inline(text, table=table) == expected


def test_a_command_with_backticks_gets_a_longer_fence() -> None:
    span = code_span("echo `date`")
    assert span == "`` echo `date` ``"
    assert split_code(span) == [(True, "echo `date`")]
    assert split_code(code_span("`x`")) == [(True, "`x`")]


def test_the_terminal_gets_plain_text_with_every_finding(game_day_dir: Path) -> None:
    paths = render_reports(game_day_dir)
    assert paths.text is not None
    text = paths.text.read_text()
    assert "&lt;" not in text
    assert "| " not in text.splitlines()[0]
    assert STALE_SQL in text
    assert TICKED in text
    assert "PASSED WITH FINDINGS" in text
    assert "step 6 stale-command (runbook, line 60)" in text
    assert "step 7 [decides the outcome]: missing tool" in text
    assert "control: no self-heal within 12 s with no response (once)" in text
    assert "credited to: step 4 (Create index)" in text


def test_the_html_leads_with_verdict_findings_and_unrehearsed_then_the_timeline_and_control(
    game_day_dir: Path,
) -> None:
    html = render_reports(game_day_dir).html.read_text()
    section = html.split('id="drill-2"')[1].split("</section>")[0]
    order = [section.index(marker) for marker in ("Verdict —", "<h3>Findings", "<h3>Steps not rehearsed", "<svg")]
    assert order == sorted(order)
    assert len(re.findall(r'<tr class="finding-row">', section)) == 3
    assert "CREATE INDEX without CONCURRENTLY &lt;blocks&gt;" in section
    timeline = section.split('<div class="timeline-row">')[1]
    assert timeline.index("<svg") < timeline.index('<aside class="control">')
    assert "did <strong>not</strong> heal by itself" in timeline
    assert 'class="control-window"' in timeline  # shaded on the chart too
    assert "restore credited to" in section
    inconclusive = html.split('id="drill-3"')[1].split("</section>")[0]
    assert "(decides the outcome)" in inconclusive
    assert "Control runs are off" in inconclusive
    assert 'class="verdict v-inconclusive"' in inconclusive


def test_junit_marks_a_pass_with_findings_with_properties() -> None:
    event = VerdictReached(
        drill="d",
        verdict=Verdict.PASSED_WITH_FINDINGS,
        reason="restored",
        outcome="restored",
        attribution="step 4 (Create index)",
        findings=[
            Finding(kind=FindingKind.STALE_COMMAND, step=1, whose=Whose.RUNBOOK, message="mean_time"),
            Finding(kind=FindingKind.STALE_COMMAND, step=6, whose=Whose.RUNBOOK, message="mean_time"),
        ],
    )
    properties = dict(junit_properties(event))
    assert properties["verdict"] == "passed_with_findings"
    assert properties["findings"] == "stale-command@1, stale-command@6"
    assert properties["attributed_to"] == "step 4 (Create index)"
    assert [v for k, v in junit_properties(event) if k == "finding"] == [
        "step 1 stale-command: mean_time",
        "step 6 stale-command: mean_time",
    ]


def test_gameday_can_fail_on_findings(game_day_dir: Path) -> None:
    from drillbook.cli.gameday import _with_findings

    render_reports(game_day_dir)
    assert _with_findings(game_day_dir) == ["azora/RB-008"]
    assert _with_findings(game_day_dir / "missing") == []
