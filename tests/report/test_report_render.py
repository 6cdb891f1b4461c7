"""A recorded game-day journal renders into HTML, JSON and Markdown that say what happened."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_journals import HOSTILE, write_game_day

from drillbook.report import Outcome, load_run, render_reports


@pytest.fixture
def html(game_day_dir: Path) -> str:
    return render_reports(game_day_dir).html.read_text()


def test_render_writes_all_three_files_into_the_run_directory(game_day_dir: Path) -> None:
    paths = render_reports(game_day_dir)
    assert {paths.html.name, paths.json.name, paths.markdown.name} == {"index.html", "summary.json", "summary.md"}
    assert all(p.parent == game_day_dir and p.stat().st_size > 0 for p in (paths.html, paths.json, paths.markdown))


def test_each_drill_gets_its_outcome_including_the_interrupted_one(game_day_dir: Path) -> None:
    run = load_run(game_day_dir)
    assert [d.outcome for d in run.drills] == [
        Outcome.PASSED,
        Outcome.PASSED_WITH_FINDINGS,
        Outcome.INCONCLUSIVE,
        Outcome.FAILED,
        Outcome.VACUOUS,
        Outcome.ERROR,
        Outcome.INTERRUPTED,
    ]
    assert "stops at t=20.0 s during respond" in run.drills[-1].reason


def test_summary_table_has_one_row_per_drill_with_verdict_and_times(html: str) -> None:
    table = html.split('<table class="summary">')[1].split("</table>", maxsplit=1)[0]
    rows = re.findall(r'<tr class="drill-row">.*?</tr>', table)
    assert len(rows) == 7
    assert "zephyr-voting" in rows[0]
    assert 'class="verdict v-passed"' in rows[0]
    assert "26.0 s" in rows[0]
    assert "4 min 10 s vs target 5 min 00 s" in rows[0]
    assert "pool-exhaustion" in rows[0]
    assert ">local<" in rows[0]
    assert 'class="verdict v-interrupted"' in rows[6]
    assert "runbook states no target" in rows[4]
    assert "stale-command ×2" in rows[1]


def test_verdict_reasons_are_shown_per_drill(html: str) -> None:
    assert "projected MTTR 4 min 10 s is within the 5 min target" in html
    assert "the fault never breached the SLOs within 25 s" in html
    assert "the sandbox failed, so nothing was proven" in html
    assert "postgres did not start: initdb exited 1" in html


def test_runbook_and_command_text_is_escaped(html: str) -> None:
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html
    assert "Redis unavailable &amp; sessions lost" in html
    assert "<script" not in html


def test_each_drill_has_an_svg_timeline_with_thresholds_markers_and_fault_window(html: str) -> None:
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 7
    passed = svgs[0]
    assert passed.count('class="threshold"') == 2
    assert "SLO: error rate &lt; 1%" in passed
    assert "SLO: p95 latency &lt; 200ms" in passed
    assert passed.count('class="step-marker"') == 2
    assert 'class="fault-window"' in passed
    assert 'class="breach-marker"' in passed
    assert 'class="restore-marker"' in passed
    assert "seconds since the drill started" in passed
    assert "error rate (%)" in passed
    assert "p95 latency (ms)" in passed
    assert 'class="series error-rate"' in passed


def test_step_table_shows_written_and_run_commands_decisions_and_output(html: str) -> None:
    assert "kubectl logs &lt;pod&gt;" in html
    assert "kubectl logs web-1" in html
    assert 'class="d-blocked">blocked' in html
    assert "<details><summary>2 lines</summary>" in html
    assert "never finished" in html


def test_evidence_names_runbook_commit_hash_platform_and_versions(html: str) -> None:
    assert "scenarios/zephyr-voting/runbook.md" in html
    assert "ab" * 32 in html
    assert "f505460deadbeef" in html
    assert "embedded local platform — a rehearsal, not a production verification" in html
    assert "localkube 0.1" in html
    for version in ("v1.30.2", "15.8", "7.0.15", "0.1.0"):
        assert version in html
    assert "2026-09-21" in html  # the fixture's wall clock, formatted as UTC


def test_the_page_loads_nothing_from_the_network(html: str) -> None:
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert "@import" not in html
    assert "default-src 'none'" in html


def test_a_real_cluster_is_not_called_a_rehearsal(finished_run_dir: Path) -> None:
    html = render_reports(finished_run_dir).html.read_text()
    assert "a real Kubernetes cluster" in html
    assert "not a production verification" not in html
    assert "did not finish" not in html


def test_summary_json_is_versioned_and_lists_every_drill(game_day_dir: Path) -> None:
    document = json.loads(render_reports(game_day_dir).json.read_text())
    assert document["schema_version"] == 2
    assert document["run"]["run_id"] == "20261123-194700-abc"
    assert document["run"]["finished"] is False
    drills = document["drills"]
    assert [d["verdict"] for d in drills] == [
        "passed", "passed_with_findings", "inconclusive", "failed", "vacuous", "error", "interrupted",
    ]  # fmt: skip
    first = drills[0]
    assert first["system"] == "zephyr-voting"
    assert first["time_to_restore_s"] == 26.0
    assert first["projected_mttr_s"] == 250.0
    assert first["target_s"] == 300.0
    assert first["platform"] == "local"
    assert first["fault"] == "pool-exhaustion"
    assert first["incident"] == "Database connection pool exhausted"
    assert drills[3]["time_to_restore_s"] is None
    assert drills[1]["finding_kinds"] == ["harmful", "stale-command"]
    assert drills[1]["control"]["self_healed"] is False
    assert drills[2]["unrehearsed"][0]["decisive"] is True
    assert document["counts"]["interrupted"] == 1


def test_summary_markdown_has_a_row_per_drill_with_pipes_escaped(game_day_dir: Path) -> None:
    markdown = render_reports(game_day_dir).markdown.read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 8  # header + 7 drills
    assert "**interrupted**" in markdown
    assert "1 passed, 1 passed with findings, 1 failed, 1 inconclusive, 1 vacuous, 1 error, 1 interrupted" in markdown
    assert re.search(r"(?<!\\)<script", markdown) is None  # escaped outside code: shown, never a tag
    assert "\\<script>" in markdown


def test_markdown_is_appended_to_the_ci_step_summary(game_day_dir: Path, tmp_path: Path) -> None:
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("earlier job output\n")
    render_reports(game_day_dir, step_summary=step_summary)
    text = step_summary.read_text()
    assert text.startswith("earlier job output\n")
    assert "### drillbook run" in text


def test_a_truncated_journal_renders_with_the_last_drill_interrupted(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_game_day(run_dir / "journal.jsonl", truncate_last=True)
    html = render_reports(run_dir).html.read_text()
    run = load_run(run_dir)
    assert run.truncated
    assert run.drills[-1].outcome is Outcome.INTERRUPTED
    assert "last line is incomplete" in html
    assert 'class="verdict v-interrupted"' in html
