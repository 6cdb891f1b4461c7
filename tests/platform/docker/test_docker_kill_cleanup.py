"""A game-day runner killed with SIGKILL mid-drill on the docker platform, then ``drillbook cleanup RUN_DIR``:
no process, container, listening port or temp dir of that run is left (each is counted before and after)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from drillbook.platform.docker import EngineHandle

pytestmark = [pytest.mark.docker, pytest.mark.live]

REPO = Path(__file__).resolve().parents[3]
DRILLBOOK = Path(sys.executable).with_name("drillbook")
DRILL = "incident_2_restores_the_api_when_the_database"
"""zephyr-voting's Incident 2 (a partition): its runner is killed once its sandbox is up."""


def _record(run_dir: Path) -> dict[str, object] | None:
    for path in run_dir.glob("sandboxes/*/docker-sandbox.json"):
        record: dict[str, object] = json.loads(path.read_text())
        if len(record["containers"]) == 2:  # type: ignore[arg-type]
            return record
    return None


def _labelled(label: str) -> list[str]:
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=org.drillbook.run={label}"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout.split()


def _listening(pids: set[int] | None = None) -> set[tuple[str, int]]:
    """(address, port) of the TCP listeners (of these processes, when given)."""
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections("tcp")
        if c.status == "LISTEN" and (pids is None or c.pid in pids)
    }


def _listening_since_before(addresses: set[tuple[str, int]], before: float) -> set[tuple[str, int]]:
    found = set()
    for c in psutil.net_connections("tcp"):
        if c.status != "LISTEN" or (c.laddr.ip, c.laddr.port) not in addresses:
            continue
        try:
            if c.pid is None or psutil.Process(c.pid).create_time() < before:
                found.add((c.laddr.ip, c.laddr.port))
        except psutil.NoSuchProcess:
            continue
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def _mid_drill(journal: Path) -> bool:
    """The drill's sandbox is up and its traffic runs (its baseline has started)."""
    return journal.is_file() and '"phase":"baseline","status":"started"' in journal.read_text()


@pytest.fixture
def reports() -> Iterator[Path]:
    """The run's reports, outside pytest's rotated temp dirs (another session's pytest may prune those)."""
    with tempfile.TemporaryDirectory(prefix="drillbook-killed-run-") as tmp:
        yield Path(tmp)


def test_a_runner_killed_mid_drill_leaves_nothing_after_cleanup(docker_engine: EngineHandle, reports: Path) -> None:
    log = (reports / "runner.log").open("wb")
    runner = subprocess.Popen(
        [sys.executable, "-m", "pytest", "features", "-k", DRILL, "-p", "no:cacheprovider", "--drillbook-platform",
         "docker", "--drillbook-reports", str(reports), "--drillbook-run-id", "killed"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    run_dir = reports / "killed"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not (_record(run_dir) and _mid_drill(run_dir / "journal.jsonl")):
            assert runner.poll() is None, (reports / "runner.log").read_text()[-3000:]
            time.sleep(0.5)
        record = _record(run_dir)
        assert record is not None, "the drill's sandbox never came up"
        assert _mid_drill(run_dir / "journal.jsonl"), "the drill never reached its baseline"
        pids = {p.pid for p in psutil.Process(runner.pid).children(recursive=True)}
        ports = _listening(pids | {runner.pid})
        label = str(record["run_label"])
        temp_dirs = [Path(p) for p in record["temp_dirs"]]  # type: ignore[attr-defined]
        # Non-vacuous: the run had a process tree, listeners, two containers and a temp dir when it was killed.
        assert len(pids) >= 3
        assert ports
        assert len(_labelled(label)) == 2
        assert all(d.is_dir() for d in temp_dirs)
        killed_at = time.time()
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
    cleanup = subprocess.run(
        [str(DRILLBOOK), "cleanup", str(run_dir)], capture_output=True, text=True, timeout=120, check=False
    )
    assert f"removed 2 container(s) labelled {label}" in cleanup.stdout, cleanup.stdout + cleanup.stderr
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(pids):
        time.sleep(0.5)
    assert _alive(pids) == set(), [psutil.Process(p).cmdline() for p in _alive(pids)]
    assert _labelled(label) == []
    # A listener on one of those addresses now is the run's only if its process is older than the kill (other
    # sandboxes on this machine reuse localkube's pod and ClusterIP addresses).
    assert _listening_since_before(ports, killed_at) == set()
    assert [d for d in temp_dirs if d.exists()] == []
    again = subprocess.run(
        [str(DRILLBOOK), "cleanup", str(run_dir)], capture_output=True, text=True, timeout=120, check=False
    )
    assert "removed" not in again.stdout, "a second cleanup finds nothing left to remove"
