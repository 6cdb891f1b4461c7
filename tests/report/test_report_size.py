"""A full game day (15 drills x 10 minutes of 1 s windows) renders into a page well under 2 MB."""

from __future__ import annotations

import re
from pathlib import Path

from report_journals import GameDay, write_passed

from drillbook.journal import JournalWriter, RunFinished
from drillbook.report import render_reports

LIMIT = 2 * 1024 * 1024


def test_a_full_game_day_report_stays_well_under_two_megabytes(tmp_path: Path) -> None:
    run_dir = tmp_path / "game-day"
    with JournalWriter(run_dir / "journal.jsonl", durable=False) as writer:
        g = GameDay(writer)
        g.run_started()
        for i in range(15):
            write_passed(g, drill=f"zephyr-voting/drill-{i:02d}", length=600.0)
        writer.write(RunFinished(ts=g.clock))
    journal_size = (run_dir / "journal.jsonl").stat().st_size
    html = render_reports(run_dir).html
    size = html.stat().st_size
    assert size < LIMIT / 2, f"index.html is {size} bytes for a {journal_size}-byte journal"
    text = html.read_text()
    # Downsampled, not dropped: every drill still has both series drawn.
    assert text.count('class="series error-rate"') >= 15
    points = re.findall(r'<polyline points="([^"]*)" class="series p95"', text)
    assert len(points) >= 15
    assert max(len(p.split()) for p in points) <= 240
