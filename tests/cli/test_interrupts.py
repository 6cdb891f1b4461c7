"""Ctrl-C and SIGTERM during a drill: revert, report, exit 130/143, no traceback, nothing after run_finished.

A real pytest run in a subprocess, over a fake sandbox whose traffic never starts (the drill hangs there
until the signal) and whose teardown takes a while (a second signal lands during it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

FEATURE = """\
Feature: interrupted
  Scenario: a drill stopped while its traffic starts
    Given the "azora" system is running on the local platform
    And steady traffic of 5 users
    When the "pod-kill" fault is injected
    Then the SLOs of incident "RB-007" are breached within 30 seconds
"""

CONFTEST = """\
import time
from pathlib import Path

import pytest

from drillbook.journal import Platform, ToolVersions

MARKS = Path(__file__).with_name("marks")


def mark(text):
    with MARKS.open("a") as f:
        f.write(text + "\\n")


class FakeSandbox:
    platform = Platform.LOCAL
    platform_label = "fake"
    app_url = "http://127.0.0.1:9"

    def versions(self):
        return ToolVersions()

    def start_traffic(self, users, on_record):
        mark("waiting")
        time.sleep(120)

    def close(self):
        mark("closing")
        time.sleep(2)
        mark("closed")


@pytest.fixture
def drillbook_sandbox_factory(request):
    from drillbook.gherkin.run import RUN_KEY

    request.config.stash[RUN_KEY].open()
    return lambda system: FakeSandbox()
"""


def _start(tmp_path: Path) -> subprocess.Popen[str]:
    (tmp_path / "stop.feature").write_text(FEATURE)
    (tmp_path / "test_stop.py").write_text('from pytest_bdd import scenarios\n\nscenarios(".")\n')
    (tmp_path / "conftest.py").write_text(CONFTEST)
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", str(tmp_path), "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         f"--drillbook-scenarios={ROOT / 'scenarios'}", f"--rootdir={tmp_path}", "--drillbook-reports=reports",
         "--drillbook-run-id=run"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=_default_interrupts,  # noqa: PLW1509 - only signal(2) runs
    )  # fmt: skip


def _default_interrupts() -> None:
    """The drill hears Ctrl-C and SIGTERM as a terminal's child would, even when this suite was started in the
    background of a shell without job control (which starts it with SIGINT ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _wait_for(path: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never said {text!r}")


@pytest.mark.parametrize(
    ("signals", "code"),
    [([signal.SIGINT], 130), ([signal.SIGTERM], 143), ([signal.SIGINT, signal.SIGINT], 130)],
    ids=["ctrl-c", "sigterm", "double-ctrl-c"],
)
def test_an_interrupted_drill_reverts_reports_and_exits_with_the_signal(
    tmp_path: Path, signals: list[signal.Signals], code: int
) -> None:
    child = _start(tmp_path)
    marks = tmp_path / "marks"
    try:
        _wait_for(marks, "waiting")
        child.send_signal(signals[0])
        if len(signals) > 1:
            _wait_for(marks, "closing")
            child.send_signal(signals[1])  # during the teardown: it must not stop it
        output, _ = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == code, output
    assert "Traceback" not in output, output
    assert "UnboundLocalError" not in output, output
    assert "closed" in marks.read_text(), "the sandbox's teardown did not complete"
    run_dir = tmp_path / "reports" / "run"
    events = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    kinds = [e.get("type") or e.get("event") for e in events]
    assert kinds[-1] == "run_finished", kinds
    assert kinds.count("run_finished") == 1
    assert "verdict" not in kinds  # an interrupted drill proved nothing either way
    notes = [e["message"] for e in events if e["type"] == "note"]
    name = "SIGTERM" if signals[0] == signal.SIGTERM else "SIGINT"
    assert f"interrupted by {name}: no verdict; the fault was reverted" in notes
    assert kinds[-2] == "drill_finished"
    summary = (run_dir / "summary.md").read_text()
    assert "interrupted" in summary
    if len(signals) > 1:
        assert "again: no longer waiting; still reverting" in output
