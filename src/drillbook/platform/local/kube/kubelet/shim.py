"""The container shim: runs one container command in its process group, logs its output, dies with the kubelet.

Started as a *script* (``python -I -S shim.py``), not as ``-m``, so it imports only the standard library and starts
fast. The kubelet starts it in a new session, so the shim leads the container's process group.

Container mode: ``shim.py --ppid PID --log-fd FD -- CMD ARGS…`` writes each stdout/stderr line to FD in the CRI log
format (``<RFC3339Nano> stdout F <line>``), exits with the command's exit code (128+N when killed by signal N), and
kills the whole group when the kubelet dies (PR_SET_PDEATHSIG plus a parent poll, so even SIGKILL leaves nothing).
As a child subreaper it adopts daemons that leave the group (setsid), and kills them with the container.
Exec mode: ``shim.py --ppid PID --exec -- CMD ARGS…`` arms the same parent-death signal and replaces itself with CMD.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
# A signal nobody sends to containers by accident: its handler kills the whole process group.
_PARENT_DIED = signal.SIGUSR2
START_ERROR_EXIT = 128


def rfc3339nano(ns: int) -> str:
    """Format epoch nanoseconds as RFC3339Nano in UTC (``2026-11-23T19:50:29.123456789Z``)."""
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def _prctl(option: int, value: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the parent poll and the group kill still apply


def _set_pdeathsig(sig: int) -> None:
    _prctl(_PR_SET_PDEATHSIG, int(sig))


def _proc_table() -> list[tuple[int, int, int, bytes]]:
    """(pid, ppid, pgid, state) of every process, from /proc."""
    rows = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2:
            rows.append((int(entry), int(fields[1]), int(fields[2]), fields[0]))
    return rows


def _container_pids() -> list[int]:
    """Everything of this container but the shim: its process group plus descendants that left it (setsid)."""
    me, group = os.getpid(), os.getpgrp()
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, ppid, _, _ in table:
        children.setdefault(ppid, []).append(pid)
    found = {pid for pid, _, pgid, _ in table if pgid == group}
    todo = [me]
    while todo:
        for pid in children.get(todo.pop(), []):
            if pid not in found:
                found.add(pid)
                todo.append(pid)
    found.discard(me)
    return sorted(found)


def _kill_all(*_: object) -> None:
    for pid in _container_pids():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _reap_adopted(main_child: int) -> None:
    """Reap orphans this subreaper adopted (zombies), never the main child (Popen reaps that one)."""
    me = os.getpid()
    for pid, ppid, _, state in _proc_table():
        if ppid == me and pid != main_child and state == b"Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def _pump(stream: object, name: bytes, fd: int) -> None:
    for line in iter(stream.readline, b""):  # type: ignore[attr-defined]
        body = line[:-1] if line.endswith(b"\n") else line
        os.write(fd, rfc3339nano(time.time_ns()).encode() + b" " + name + b" F " + body + b"\n")


def _child_setup() -> None:
    _set_pdeathsig(signal.SIGKILL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(_PARENT_DIED, signal.SIG_DFL)


def _parse(argv: list[str]) -> tuple[int, int | None, bool, list[str]]:
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1 :]
    ppid, exec_mode = 0, False
    log: int | None = None
    i = 0
    while i < len(opts):
        if opts[i] == "--ppid":
            ppid, i = int(opts[i + 1]), i + 2
        elif opts[i] == "--log-fd":
            log, i = int(opts[i + 1]), i + 2
        elif opts[i] == "--exec":
            exec_mode, i = True, i + 1
        else:
            raise SystemExit(f"shim: unknown option {opts[i]!r}")
    return ppid, log, exec_mode, cmd


def _exec(ppid: int, cmd: list[str]) -> int:
    _set_pdeathsig(signal.SIGKILL)
    if os.getppid() != ppid:
        return 137
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        sys.stderr.write(
            "OCI runtime exec failed: exec failed: unable to start container process: "
            f'exec: "{cmd[0]}": {exc.strerror}\n'
        )
    return 127


def _run(ppid: int, fd: int, cmd: list[str]) -> int:
    signal.signal(_PARENT_DIED, _kill_all)
    _set_pdeathsig(_PARENT_DIED)
    if os.getppid() != ppid:
        _kill_all()
    # Orphans (daemons that setsid'd away from the group) reparent to the shim, so they die with the container.
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    # The kubelet's SIGTERM to the group is meant for the container; the shim waits for it to exit.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        # preexec_fn is safe here: the pump threads start only after the fork.
        child = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_child_setup,  # noqa: PLW1509
        )
    except OSError as exc:
        message = f'exec: "{cmd[0]}": {exc.strerror}'
        os.write(fd, rfc3339nano(time.time_ns()).encode() + b" stderr F " + message.encode() + b"\n")
        sys.stderr.write(message + "\n")
        return START_ERROR_EXIT
    pumps = [
        threading.Thread(target=_pump, args=(child.stdout, b"stdout", fd), daemon=True),
        threading.Thread(target=_pump, args=(child.stderr, b"stderr", fd), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    while True:
        try:
            code = child.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if os.getppid() != ppid:
                _kill_all()
            _reap_adopted(child.pid)
    # The main process is gone: like a container's PID 1 exiting, everything else of the container goes too.
    for pid in _container_pids():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for pump in pumps:
        pump.join(timeout=2.0)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.01)
        except ChildProcessError:
            break
    return 128 - code if code < 0 else code


def main(argv: list[str]) -> int:
    """Entry point; see the module docstring for the two modes."""
    ppid, log, exec_mode, cmd = _parse(argv)
    if not cmd:
        raise SystemExit("shim: expected a command after '--'")
    if exec_mode:
        return _exec(ppid, cmd)
    if log is None:
        raise SystemExit("shim: container mode needs --log-fd FD")
    return _run(ppid, log, cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
