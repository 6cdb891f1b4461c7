"""``drillbook report RUN_DIR`` renders, prints the paths, and fails cleanly on bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drillbook.cli import main


def test_report_command_renders_and_prints_paths(
    game_day_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main(["report", str(game_day_dir)]) == 0
    out = capsys.readouterr().out
    assert str(game_day_dir / "index.html") in out
    assert str(game_day_dir / "summary.json") in out
    assert str(game_day_dir / "summary.md") in out
    assert (game_day_dir / "index.html").is_file()


def test_report_command_points_latest_at_the_newest_run(
    game_day_dir: Path, finished_run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    os.utime(game_day_dir / "journal.jsonl", (1_000_000_000, 1_000_000_000))
    assert main(["report", str(game_day_dir)]) == 0
    assert not (game_day_dir.parent / "latest").exists()
    assert main(["report", str(finished_run_dir)]) == 0
    assert (game_day_dir.parent / "latest").resolve() == finished_run_dir.resolve()


def test_report_command_appends_to_github_step_summary(
    game_day_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "gh_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["report", str(game_day_dir)]) == 0
    assert "### drillbook run" in summary.read_text()


def test_a_missing_run_directory_is_a_clear_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "expected a run directory" in err
    assert "does not exist" in err
    assert "Traceback" not in err


def test_a_directory_without_a_journal_is_a_clear_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "expected journal.jsonl in" in err
    assert "Traceback" not in err


def test_a_corrupt_journal_is_an_error_naming_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "journal.jsonl").write_text('{"type": "run_finished"}\nnot json\n{"type": "run_finished"}\n')
    assert main(["report", str(tmp_path)]) == 2
    assert "journal.jsonl:2:" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_an_empty_journal_says_no_drill_was_recorded_and_writes_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    journal = tmp_path / "journal.jsonl"
    journal.write_text(text)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"drillbook report: error: {journal}: the journal is empty, so no drill was recorded and no report was "
        "written; run the drills first (drillbook gameday) or pass the run directory of a run that got further\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.jsonl"]


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ('{"type": "run_fin', "none of its 1 line(s) is one; the first is line 1"),
        ('\nnot json\n{"type": "hologram"}\n\x00\xff\n', "none of its 3 line(s) is one; the first is line 2"),
    ],
)
def test_a_journal_of_only_corrupt_lines_says_no_drill_was_recorded_and_writes_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, counted: str
) -> None:
    journal = tmp_path / "journal.jsonl"
    journal.write_text(text)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"drillbook report: error: {journal}: the journal holds no readable event ({counted}), so no drill was "
        "recorded and no report was written; run the drills first (drillbook gameday) or pass the run directory "
        "of a run that got further\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.jsonl"]


def test_a_journal_whose_first_line_is_corrupt_but_later_ones_are_events_is_not_called_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "journal.jsonl").write_text('not json\n{"type": "run_finished"}\n')
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'journal.jsonl'}:1: expected one journal event per line, found a corrupt line" in err
    assert "no drill was recorded" not in err
