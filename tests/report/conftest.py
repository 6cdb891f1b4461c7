"""Fixtures for the report tests: run directories holding recorded journals."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_journals import GameDay, write_game_day, write_passed

from drillbook.journal import JournalWriter, Platform, RunFinished


@pytest.fixture
def game_day_dir(tmp_path: Path) -> Path:
    """A run directory whose journal holds one drill per verdict plus an interrupted one."""
    run_dir = tmp_path / "reports" / "20261123-194700-abc"
    write_game_day(run_dir / "journal.jsonl")
    return run_dir


@pytest.fixture
def finished_run_dir(tmp_path: Path) -> Path:
    """A run directory with one passed drill and a finished run."""
    run_dir = tmp_path / "reports" / "run-ok"
    with JournalWriter(run_dir / "journal.jsonl") as writer:
        g = GameDay(writer)
        g.run_started(Platform.KIND)
        write_passed(g)
        writer.write(RunFinished(ts=g.clock))
    return run_dir
