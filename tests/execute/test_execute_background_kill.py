"""A runner SIGKILLed while a step's command runs on in the background leaves nothing running after cleanup.

Live: a real executor in a child process starts ``… &`` (a shell that forks, so the grandchild carries no
parent-death signal of its own), then the child is SIGKILLed. Contained, the command's PID namespace dies with it;
uncontained, ``drillbook cleanup``'s reaper finds the orphan by its marker variable and ends it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from drillbook.execute import background, containment

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, sys, time
from pathlib import Path
from drillbook.execute import StepExecutor
from drillbook.execute.containment import Containment
from drillbook.runbook.model import Command, Effect, Step

class View:
    def service_address(self, namespace, name, port=None): return ("127.0.0.1", port or 80)
    def pod_name(self, namespace, selector): return "pod"
    def env(self): return {{}}
    def tool_dirs(self): return [Path("/usr/bin"), Path("/bin")]

executor = StepExecutor(view=View(), workdir=Path({workdir!r}))
if {uncontained!r}:
    executor._containment = Containment(reason="test: run uncontained")
step = Step(1, "Serve", "", 1, (Command("sh -c 'sleep 300; :' &", 2, "bash", "sh", Effect.READ_ONLY),))
[outcome] = executor.run_step(step)
print(outcome.decision.value, outcome.reason, flush=True)
time.sleep(300)
"""


def _marked(marker: str) -> list[int]:
    wanted = f"{background.MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _gone(marker: str, within_s: float = 10.0) -> list[int]:
    """The marked processes still alive after ``within_s`` (the kernel reaps a dead namespace a moment later)."""
    deadline = time.monotonic() + within_s
    while (left := _marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _run_and_kill(workdir: Path, *, uncontained: bool) -> str:
    """Start the child, wait until its step is backgrounded, SIGKILL it; return the command's marker."""
    script = textwrap.dedent(CHILD.format(workdir=str(workdir), uncontained=uncontained))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("bounded backgrounded"), line
        [record] = [json.loads(r) for r in (workdir / background.RECORDS).read_text().splitlines()]
        assert _marked(record["marker"]), "the background command is not running"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    return str(record["marker"])


@pytest.mark.skipif(bool(containment.why_not_contained()), reason="steps cannot be contained here")
def test_a_contained_background_command_dies_with_a_sigkilled_runner(tmp_path: Path) -> None:
    workdir = tmp_path / "steps"
    workdir.mkdir()
    marker = _run_and_kill(workdir, uncontained=False)
    assert _gone(marker) == []


def test_cleanup_ends_what_an_uncontained_background_command_left_after_a_sigkill(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    workdir = run_dir / "sandboxes" / "shop-1" / "steps"
    workdir.mkdir(parents=True)
    marker = _run_and_kill(workdir, uncontained=True)
    orphans = _marked(marker)
    try:
        assert orphans, "expected the forked sleep to outlive its runner (no parent-death signal of its own)"
        said: list[str] = []
        assert background.reap(run_dir, said.append) >= 1
        assert _gone(marker) == []
        assert any("dead run's background command" in line for line in said), said
        assert background.reap(run_dir, said.append) == 0  # safe to run twice
    finally:
        for pid in _marked(marker):
            os.kill(pid, signal.SIGKILL)
