"""The command line's shell: help, version, and clean errors."""

from __future__ import annotations

import pytest

from drillbook.cli import main


def test_help_lists_the_program_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "drillbook" in capsys.readouterr().out


def test_no_command_prints_help_and_returns_usage_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
