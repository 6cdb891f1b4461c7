"""A run SIGKILLed while provisioning or during a long step: after `drillbook cleanup`, none of its processes,
ports or state dirs is left. Live: a real local sandbox in a child process."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from drillbook.cli import main
from drillbook.execute import containment
from drillbook.journal import read_journal

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(bool(containment.why_not_contained()), reason="steps cannot be contained here"),
]

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from pathlib import Path
from drillbook.platform.local.sandbox import provision_local
from drillbook.runbook.model import Command, Effect, Step

sandbox = provision_local(Path({scenario!r}), Path({run_dir!r}))
print("up", flush=True)
if {inject!r}:
    from drillbook.faults.base import fault_class
    from drillbook.journal import FaultRevertRecorded, JournalWriter

    journal = JournalWriter(Path({run_dir!r}) / "journal.jsonl").open()

    class Revert:
        def record_revert(self, record):
            journal.write(FaultRevertRecorded(drill="d#1", fault=record.fault, revert=record.description,
                                              spec=dict(record.spec)))

    fault = fault_class({inject!r})(sandbox.fault_target(None), {{}}, journal=Revert())
    fault.inject()
    print("injected", flush=True)
step = Step(1, "Wait", "", 1, (Command({command!r}, 2, "bash", "bash", Effect.READ_ONLY),))
sandbox.step_runner().run_step(step)
"""


def _records(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in (run_dir / "sandboxes").glob("*/sandbox.json")]


def _processes_touching(path: str, token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if (path and (path in cmdline or cwd.startswith(path))) or cmdline.startswith(token):
            found.append(int(entry.name))
    return found


def _process_tree(pid: int) -> tuple[list[psutil.Process], list[tuple[str, int]]]:
    """The processes below ``pid`` (and it) and the TCP ports they listen on, read before the kill."""
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    ports: set[tuple[str, int]] = set()
    for process in processes:
        with contextlib.suppress(psutil.Error):
            ports |= {(c.laddr.ip, c.laddr.port) for c in process.net_connections("tcp") if c.status == "LISTEN"}
    return processes, sorted(ports)


def _same_process_alive(process: psutil.Process) -> bool:
    """Alive and still that process (``is_running`` compares the start time, so a reused PID is not it)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    return _open(parts.hostname or "127.0.0.1", parts.port or 80)


def _leftover_listeners(ports: list[tuple[str, int]], state: str) -> list[tuple[str, int, int | None]]:
    """Who still listens on the run's ports, except another live sandbox: on two test workers, another sandbox
    takes the loopback addresses the killed run released (their locks died with it) and may open the same ports."""
    wanted = set(ports)
    left = []
    for conn in psutil.net_connections("tcp"):
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or (conn.laddr.ip, conn.laddr.port) not in wanted:
            continue
        owner = _sandbox_of(conn.pid) if conn.pid is not None else None
        if owner is not None and owner != state:
            continue  # another sandbox's server: its own state dir, in it or in one of its parents
        left.append((conn.laddr.ip, conn.laddr.port, conn.pid))
    return left


_STATE_DIR = re.compile(re.escape(str(Path(tempfile.gettempdir()) / "drillbook-")) + r"[\w-]+")


def _sandbox_of(pid: int) -> str | None:
    """The sandbox state dir a process or one of its parents names in its command line or works in, if any."""
    with contextlib.suppress(psutil.Error):
        for process in [psutil.Process(pid), *psutil.Process(pid).parents()]:
            with contextlib.suppress(psutil.Error):
                found = _STATE_DIR.search(" ".join(process.cmdline()) + " " + process.cwd())
                if found:
                    return found.group(0)
    return None


def _open(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


@pytest.mark.parametrize("when", ["provision", "inject", "long-step"])
def test_a_killed_run_leaves_nothing_after_cleanup(tmp_path: Path, when: str) -> None:
    run_dir = tmp_path / "run"
    (run_dir).mkdir()
    (run_dir / "journal.jsonl").write_text("")
    token = f"{random.randint(100, 999)}.{random.randint(10**5, 10**6)}"
    command = f"(setsid sleep {token} &); sleep {token}"
    inject = "pool-exhaustion" if when == "inject" else ""
    script = CHILD.format(
        scenario=str(ROOT / "scenarios" / "chat-rooms"), run_dir=str(run_dir), command=command, inject=inject
    )
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        if when == "provision":
            deadline = time.monotonic() + 120
            while not any(r.get("server") for r in _records(run_dir)) and time.monotonic() < deadline:
                time.sleep(0.1)  # localkube answers; the scenario is being deployed
        elif when == "inject":
            assert child.stdout.readline().strip() == "up"
            assert child.stdout.readline().strip() == "injected"  # the connection hog holds the database
        else:
            assert child.stdout.readline().strip() == "up"
            deadline = time.monotonic() + 30
            while not _processes_touching("", f"sleep {token}") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _processes_touching("", f"sleep {token}"), "the long step never started"
        [record] = _records(run_dir)
        assert record["server"], "killed before localkube answered"
        assert Path(str(record["state_dir"])).is_dir()
        run_processes, run_ports = _process_tree(child.pid)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert main(["cleanup", str(run_dir)]) == 0
    state, server = str(record["state_dir"]), str(record["server"])
    deadline = time.monotonic() + 30  # localkube got SIGTERM with its parent: it stops its pods, then exits
    while (_processes_touching(state, f"sleep {token}") or _listening(server)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert main(["cleanup", str(run_dir)]) == 0  # the second one removes what the stopping cluster still used
    assert _processes_touching(state, f"sleep {token}") == []
    assert not _listening(server)
    assert not Path(state).exists()
    # Counted: every process of the run's tree at the kill (localkube, pods, datastores, proxy, step) and every
    # port they listened on.
    assert [p.pid for p in run_processes if _same_process_alive(p)] == []
    # At provision only the API server may listen yet; later also the fault proxy, datastores and pods.
    assert len(run_ports) >= (1 if when == "provision" else 3), f"expected more of the run's listeners: {run_ports}"
    assert _leftover_listeners(run_ports, state) == []
    markers = [str(e.spec.get("marker")) for e in read_journal(run_dir / "journal.jsonl") if hasattr(e, "spec")]
    assert [m for m in markers if m and _processes_touching(m, "\0never")] == []  # the fault's helpers too
