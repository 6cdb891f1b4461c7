"""`drillbook cleanup` undoes what a killed run left behind, from the journal alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from drillbook.cli import main
from drillbook.journal import FaultReverted, FaultRevertRecorded, JournalWriter


def _orphan(marker: str) -> subprocess.Popen[bytes]:
    # Stands in for a fault helper whose run was SIGKILLed: its own session, the marker on its command line.
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker], start_new_session=True)


@pytest.mark.live
def test_cleanup_ends_the_helper_of_a_fault_that_was_never_reverted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orphan = _orphan("drillbook-hog-test1234")
    pidfile = tmp_path / "hog.pid"
    pidfile.write_text(str(orphan.pid))
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        spec = {"pidfile": str(pidfile), "marker": "drillbook-hog-test1234", "admin_dsn": None}
        journal.write(FaultRevertRecorded(drill="azora/RB-007#1", fault="pool-exhaustion", revert="stop", spec=spec))
    try:
        assert main(["cleanup", str(tmp_path)]) == 0
        assert orphan.wait(timeout=10) is not None
        assert "reverted pool-exhaustion" in capsys.readouterr().out
    finally:
        if orphan.poll() is None:
            orphan.kill()


@pytest.mark.live
def test_cleanup_leaves_alone_a_process_that_merely_reuses_the_pid(tmp_path: Path) -> None:
    stranger = _orphan("not-ours")
    pidfile = tmp_path / "hog.pid"
    pidfile.write_text(str(stranger.pid))
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        spec = {"pidfile": str(pidfile), "marker": "drillbook-hog-gone", "admin_dsn": None}
        journal.write(FaultRevertRecorded(drill="d", fault="pool-exhaustion", revert="stop", spec=spec))
    try:
        assert main(["cleanup", str(tmp_path)]) == 0
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_cleanup_of_a_clean_run_says_there_is_nothing_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        journal.write(FaultRevertRecorded(drill="d", fault="pod-kill", revert="nothing", spec={}))
        journal.write(FaultReverted(drill="d", fault="pod-kill"))
    assert main(["cleanup", str(tmp_path)]) == 0
    assert "nothing to clean up" in capsys.readouterr().out


def test_cleanup_without_a_journal_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cleanup", str(tmp_path)]) == 2
    assert "no journal" in capsys.readouterr().err
