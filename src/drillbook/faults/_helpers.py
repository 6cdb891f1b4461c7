"""Helper processes that faults start: each in its own session, bounded in time, dying with its parent.

The PID is written to a pidfile named in the fault's revert record *before* the fault is applied, so a
revert (also ``drillbook cleanup`` after a killed run) can find and end exactly that process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from drillbook.errors import FaultInjectionError
from drillbook.processes import die_with_parent

__all__ = ["die_with_parent", "start_helper", "stop_helper"]


def start_helper(
    module: str, args: Sequence[str], *, pidfile: Path, marker: str, ready_timeout_s: float
) -> dict[str, object]:
    """Start ``python -m module args…`` in its own session and wait for its first JSON line on stdout.

    Args:
        module: The helper's module.
        args: Its arguments.
        pidfile: Where its PID is written (the revert record names this file).
        marker: A string that appears on its command line, checked before it is ever killed (PID reuse).
        ready_timeout_s: How long to wait for its ready line.

    Returns:
        The parsed ready line.
    """
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    log_path = pidfile.with_suffix(".log")
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--marker", marker, *args],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pidfile.write_text(str(proc.pid))
    assert proc.stdout is not None
    deadline = time.monotonic() + ready_timeout_s
    os.set_blocking(proc.stdout.fileno(), False)
    buffer = b""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-800:]
            raise FaultInjectionError(f"{module} exited with {proc.returncode} before it was ready:\n{tail}")
        chunk = proc.stdout.read() or b""
        buffer += chunk
        if b"\n" in buffer:
            line = buffer.split(b"\n", 1)[0]
            try:
                ready: dict[str, object] = json.loads(line)
            except ValueError as exc:
                raise FaultInjectionError(f"{module} printed an unreadable ready line: {line!r}") from exc
            return ready
        time.sleep(0.05)
    stop_helper(pidfile, marker)
    raise FaultInjectionError(f"{module} was not ready within {ready_timeout_s:.0f} s; see {log_path}")


def stop_helper(pidfile: Path, marker: str, *, grace_s: float = 3.0) -> None:
    """End the helper's process group if it is still the process we started; safe to call twice."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        process = psutil.Process(pid)
        if not any(marker in part for part in process.cmdline()):
            return  # the PID now belongs to someone else: never touch it
    except psutil.Error:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    with contextlib.suppress(psutil.Error):
        process.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(psutil.Error):
        process.wait(timeout=grace_s)
