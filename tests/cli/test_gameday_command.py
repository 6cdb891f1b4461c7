"""``drillbook gameday``: the pytest command it runs for each option, and the usage errors it gives before
starting anything. (The game day itself runs in tests/gameday and tests/cli/test_new_user.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from drillbook.cli import main


class _Ran:
    """Stands in for the pytest process: records its command and exits 0 at once."""

    commands: list[list[str]] = []  # noqa: RUF012 - one list per test, reset by the fixture

    def __init__(self, command: list[str], **_: Any) -> None:
        type(self).commands.append(command)

    def wait(self) -> int:
        return 0

    def send_signal(self, signum: int) -> None:
        raise AssertionError("no signal expected")


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    _Ran.commands = []
    monkeypatch.setattr(subprocess, "Popen", _Ran)
    (tmp_path / "features").mkdir()
    monkeypatch.chdir(tmp_path)
    return _Ran.commands


def test_jobs_reach_pytest_as_drillbook_jobs(ran: list[list[str]]) -> None:
    assert main(["gameday", "--jobs", "auto", "--reports", "out"]) == 0
    (command,) = ran
    assert "--drillbook-jobs=auto" in command
    assert not any(arg.startswith("--drillbook-shard") for arg in command)


def test_without_jobs_the_run_is_one_process(ran: list[list[str]]) -> None:
    assert main(["gameday"]) == 0
    (command,) = ran
    assert not any(arg.startswith("--drillbook-jobs") for arg in command)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "zero"], "--drillbook-jobs must be a positive number of processes or 'auto', got 'zero'"),
        (["--jobs", "2", "--shard", "1/3"], "give --jobs or --shard, not both"),
    ],
)
def test_a_bad_jobs_value_is_a_usage_error_before_pytest_starts(
    ran: list[list[str]], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["gameday", *args]) == 2
    assert message in capsys.readouterr().err
    assert ran == []
