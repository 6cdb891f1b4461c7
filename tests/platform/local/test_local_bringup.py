"""A real local bring-up with a failure injected after each of its actions: everything it started is undone, in
reverse, each undo journaled; and a runner SIGKILLed with its sandbox up leaves a journal that ``drillbook
cleanup``'s replay turns into nothing left (no process, no listener, no state dir)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from drillbook.errors import SandboxError
from drillbook.platform.bringup import FILE, ActionEvent, BringUpJournal
from drillbook.platform.local.sandbox import provision_local, wait_for_removals
from drillbook.platform.replay import replay_sandboxes

pytestmark = pytest.mark.live

ZEPHYR = Path(__file__).resolve().parents[3] / "scenarios" / "zephyr-voting"
ACTIONS = ["state dir", "cluster", "fault proxy", "deploy", "wait available", "snapshot", "metrics"]


class Injected(SandboxError):
    """The test's failure."""


def _descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}


def _journal(run_dir: Path) -> list[tuple[str, str]]:
    (path,) = run_dir.glob(f"sandboxes/*/{FILE}")
    return [(e.event.value, e.action) for e in BringUpJournal(path).read()]


def _state_dirs(run_dir: Path) -> list[Path]:
    found = []
    for path in run_dir.glob(f"sandboxes/*/{FILE}"):
        for event in BringUpJournal(path).read():
            if event.event is ActionEvent.FINISHED and event.action == "state dir":
                found.append(Path(str(event.facts["path"])))
    return found


@pytest.mark.parametrize("fail_after", ACTIONS)
def test_a_failure_after_each_local_action_undoes_everything_it_started(tmp_path: Path, fail_after: str) -> None:
    before = _descendants()

    def inject(finished: str) -> None:
        if finished == fail_after:
            raise Injected(f"injected after {finished}")

    with pytest.raises(Injected):
        provision_local(ZEPHYR, tmp_path, after_action=inject)
    journal = _journal(tmp_path)
    done = ACTIONS[: ACTIONS.index(fail_after) + 1]
    assert [a for e, a in journal if e == "finished"] == done
    undone = [a for e, a in journal if e == "undone"]
    assert undone == [a for a in reversed(done) if a not in ("wait available", "snapshot")], journal
    assert not [e for e in journal if e[0] == "undo-failed"]
    leftover = _descendants() - before
    assert not leftover, f"processes left after the failure: {[psutil.Process(p).cmdline() for p in leftover]}"
    wait_for_removals()
    assert all(not d.exists() for d in _state_dirs(tmp_path))


RUNNER = """
import sys, time
from pathlib import Path
from drillbook.platform.local.sandbox import provision_local
provision_local(Path(sys.argv[1]), Path(sys.argv[2]))
print("up", flush=True)
time.sleep(600)
"""


def test_a_killed_runners_bring_up_is_replayed_by_cleanup_until_nothing_is_left(tmp_path: Path) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(ZEPHYR), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert runner.stdout is not None
        line = runner.stdout.readline()  # blocks until the sandbox is up (the test's timeout bounds it)
        assert line.strip() == "up", f"the runner did not bring the sandbox up: {runner.stderr.read()[-2000:]}"
        tree = {p.pid for p in psutil.Process(runner.pid).children(recursive=True)}
        assert tree, "the sandbox started no process"
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
    said: list[str] = []
    assert replay_sandboxes(tmp_path, said.append) == 0, said
    replayed = {line.split(": ")[1] for line in said}
    assert {"fault proxy", "cluster", "state dir"} <= replayed, said
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in tree):
        time.sleep(0.2)
    alive = [p for p in tree if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"left running: {alive} ({said})"
    assert all(not d.exists() for d in _state_dirs(tmp_path)), said
    said.clear()
    assert replay_sandboxes(tmp_path, said.append) == 0
    assert said == []
