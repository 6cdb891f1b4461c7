"""The sandboxed shell leaves nothing running, sees no repository or home of ours, and runs one branch of a step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from drillbook.errors import UsageError
from drillbook.execute import StepExecutor, runner
from drillbook.journal import Decision
from drillbook.runbook.model import Command, Effect, Step

pytestmark = pytest.mark.live

ENV = {"PATH": "/usr/bin:/bin"}


def _group_is_gone(pgid_file: Path) -> bool:
    """No live (non-zombie) process is left in the group; orphans are reaped by init a moment later."""
    pgid = int(pgid_file.read_text().strip())
    for _ in range(50):
        if not any(_alive_in(process, pgid) for process in psutil.process_iter()):
            return True
        time.sleep(0.05)
    return False


def _alive_in(process: psutil.Process, pgid: int) -> bool:
    try:
        return os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE
    except (ProcessLookupError, psutil.Error):
        return False


def test_a_background_child_that_ignores_sigterm_is_killed_at_the_deadline(tmp_path: Path) -> None:
    done = runner.run("echo $$ > pgid; (trap '' TERM; sleep 60) & sleep 60", env=ENV, cwd=tmp_path, deadline_s=0.5)
    assert done.timed_out
    assert done.exit_code is None
    assert _group_is_gone(tmp_path / "pgid")


def test_what_a_finished_command_left_running_in_the_background_is_reaped(tmp_path: Path) -> None:
    done = runner.run(
        "echo $$ > pgid; nohup sleep 60 >/dev/null 2>&1 & echo started", env=ENV, cwd=tmp_path, deadline_s=10
    )
    assert done.exit_code == 0
    assert "started" in done.output
    assert _group_is_gone(tmp_path / "pgid")


@pytest.fixture
def recording_curl(tmp_path: Path) -> Path:
    """A stand-in for the real curl that only says it was called: a broken shim sends nothing anywhere."""
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    for tool in ("curl", "wget"):
        (fake_bin / tool).write_text('#!/bin/sh\necho REAL-TOOL-CALLED "$@"\n')
        (fake_bin / tool).chmod(0o755)
    return fake_bin


@pytest.mark.parametrize(
    "command",
    ["curl example.com", "curl -O https://example.com/x", "wget -c http://example.com/", "curl -x evil:3128 localhost"],
)
def test_the_shims_refuse_every_non_loopback_form(tmp_path: Path, recording_curl: Path, command: str) -> None:
    shims = runner.make_shims(tmp_path / "shims", [recording_curl, Path("/usr/bin"), Path("/bin")])
    env = {"PATH": f"{shims}:{recording_curl}:/usr/bin:/bin"}
    done = runner.run(f'eval "{command}"', env=env, cwd=tmp_path / "cwd", deadline_s=10)
    assert done.exit_code == 6
    assert "REAL-TOOL-CALLED" not in done.output
    allowed = runner.run("curl -s http://127.0.0.1:9/x", env=env, cwd=tmp_path / "cwd", deadline_s=10)
    assert "REAL-TOOL-CALLED -s http://127.0.0.1:9/x" in allowed.output


def test_a_runbook_git_command_cannot_see_a_repository_above_the_workdir(tmp_path: Path, view: object) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    executor = StepExecutor(view=view, workdir=tmp_path / "drill")  # type: ignore[arg-type]
    step = Step(
        4, "Check Recent Changes", "", 113, (Command("git log --oneline -10", 114, "bash", "git", Effect.READ_ONLY),)
    )
    [outcome] = executor.run_step(step)
    assert outcome.decision is Decision.RUNS
    assert outcome.exit_code != 0
    assert "not a git repository" in outcome.output


def _options_step() -> Step:
    commands = tuple(
        Command(f"echo option {n}", 58 + n, "bash", "echo", Effect.READ_ONLY, branch=f"Option {n}") for n in (1, 2, 3)
    )
    always = Command("echo always", 57, "bash", "echo", Effect.READ_ONLY)
    return Step(4, "Immediate Recovery", "", 56, (always, *commands))


def test_a_step_with_options_runs_the_first_option_unless_the_drill_chooses(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    assert [o.output.strip() for o in executor.run_step(_options_step())] == ["always", "option 1"]
    chosen = executor.run_step(_options_step(), branch="option 3")  # labels match whatever their case
    assert [o.output.strip() for o in chosen] == ["always", "option 3"]


def test_an_unknown_option_names_the_ones_offered(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="offers Option 1, Option 2, Option 3; got branch 'Option 9'"):
        executor.run_step(_options_step(), branch="Option 9")


def test_a_prose_notification_is_captured_with_its_text(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    declare = Command("Slack: @incident-commander DECLARE P1 - API DOWN", 26, "prose", "slack", Effect.NOTIFICATION)
    [outcome] = executor.run_step(Step(1, "Declare Incident", "", 25, (declare,)))
    assert outcome.decision is Decision.CAPTURED
    assert outcome.exit_code is None
    assert "DECLARE P1" in outcome.output


def test_a_supplied_command_stands_in_for_the_prose_and_the_rest_still_runs(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    prose = Command("Restart Redis service", 40, "prose", "", Effect.MANUAL)
    check = Command("echo checked", 41, "bash", "echo", Effect.READ_ONLY)
    supplied, checked = executor.run_step(Step(2, "Restart", "", 39, (prose, check)), supplied="echo restarted")
    assert (supplied.decision, supplied.supplied_by_drill, supplied.output.strip()) == (
        Decision.SUPPLIED,
        True,
        "restarted",
    )
    assert (checked.decision, checked.output.strip()) == (Decision.RUNS, "checked")


def test_an_interrupted_drill_kills_the_running_commands_group(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom pathlib import Path\nfrom drillbook.execute import runner\n"
        "try:\n"
        "    env = {'PATH': '/usr/bin:/bin'}\n"
        "    runner.run('echo $$ > pgid; sleep 60', env=env, cwd=Path(sys.argv[1]), deadline_s=60)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    drill = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 - a background job ignores SIGINT
    )
    try:
        for _ in range(200):
            if (tmp_path / "pgid").is_file() and (tmp_path / "pgid").read_text().strip():
                break
            time.sleep(0.05)
        drill.send_signal(signal.SIGINT)
        out, _ = drill.communicate(timeout=20)
    finally:
        if drill.poll() is None:
            os.killpg(drill.pid, signal.SIGKILL)
            drill.wait()
    assert out.strip() == "interrupted"
    assert _group_is_gone(tmp_path / "pgid")
