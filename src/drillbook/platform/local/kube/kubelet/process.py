"""Container processes: each one a shim-led process group that cannot outlive the kubelet."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from drillbook.platform.local.kube.kubelet.shim import START_ERROR_EXIT

SHIM = Path(__file__).with_name("shim.py")


def _shim_argv(*options: str) -> list[str]:
    # -I: ignore PYTHON* variables and user site (the container env may set them); -S: skip site for speed.
    return [sys.executable, "-I", "-S", str(SHIM), "--ppid", str(os.getpid()), *options, "--"]


def group_signal(pgid: int, sig: signal.Signals) -> None:
    """Signal a whole process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_members(pgid: int) -> list[int]:
    """PIDs whose process group is ``pgid`` (read from /proc, no signals sent)."""
    return process_groups().get(pgid, [])


def descendants(root: int) -> list[int]:
    """PIDs below ``root`` in the parent tree (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found.append(pid)
            todo.append(pid)
    return found


def process_groups() -> dict[int, list[int]]:
    """Every process group on the machine with its member PIDs, from one walk over /proc."""
    groups: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 2:
            groups.setdefault(int(fields[2]), []).append(int(entry))
    return groups


class ContainerProcess:
    """One run of a container: the shim (group leader) and everything it starts."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self.pgid = proc.pid
        self.exit_code: int | None = None
        self.start_error: str | None = None

    @classmethod
    async def start(
        cls, argv: list[str], env: Mapping[str, str], cwd: str | None, log_path: Path, user: tuple[int, int] | None
    ) -> ContainerProcess:
        """Start ``argv`` through the shim with output captured into ``log_path`` (CRI log format).

        Args:
            argv: The container command line.
            env: Its complete environment.
            cwd: Working directory (``None``: the kubelet's).
            log_path: CRI-format log file of this run.
            user: (uid, gid) from ``securityContext.runAsUser/runAsGroup``, or ``None`` to run as the kubelet.
        """
        # The kubelet opens the log and hands the descriptor over: a runAsUser shim need not reach state_dir.
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            proc = await cls._spawn(argv, env, cwd, log_fd, user)
        finally:
            os.close(log_fd)
        return cls(proc)

    @staticmethod
    async def _spawn(
        argv: list[str], env: Mapping[str, str], cwd: str | None, log_fd: int, user: tuple[int, int] | None
    ) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *_shim_argv("--log-fd", str(log_fd)),
            *argv,
            env=dict(env),
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            user=user[0] if user else None,
            group=user[1] if user else None,
            pass_fds=(log_fd,),
        )

    @property
    def pid(self) -> int:
        """The shim's PID, which is also the process group ID."""
        return self._proc.pid

    async def wait(self) -> int:
        """Wait for the shim to exit; returns the container exit code (137 after SIGKILL)."""
        code = await self._proc.wait()
        if self.exit_code is not None:
            return self.exit_code
        if code == START_ERROR_EXIT and self._proc.stderr is not None:
            self.start_error = (await self._proc.stderr.read()).decode(errors="replace").strip() or None
        self.exit_code = 128 - code if code < 0 else code
        return self.exit_code

    def signal(self, sig: signal.Signals) -> None:
        """Signal the container's whole process group (SIGKILL also reaches daemons the shim adopted)."""
        if sig == signal.SIGKILL and self.exit_code is None:
            # Kill the shim's adopted orphans first: once the shim dies they would reparent to init.
            for pid in descendants(self.pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
        if self.exit_code is None or group_members(self.pgid):
            group_signal(self.pgid, sig)

    async def terminate(self, grace_s: float) -> int:
        """SIGTERM the group, SIGKILL it after ``grace_s``; returns the exit code once every process is gone."""
        if self.exit_code is None:
            self.signal(signal.SIGTERM if grace_s > 0 else signal.SIGKILL)
            try:
                await asyncio.wait_for(asyncio.shield(self._proc.wait()), timeout=max(grace_s, 0.0) or None)
            except TimeoutError:
                self.signal(signal.SIGKILL)
        code = await self.wait()
        await self.reap_group()
        return code

    async def reap_group(self) -> None:
        """Kill and wait out anything left in the group after the shim ended (normally nothing)."""
        for _ in range(50):
            if not group_members(self.pgid):
                return
            group_signal(self.pgid, signal.SIGKILL)
            await asyncio.sleep(0.02)


class ExecProcess:
    """A command run inside a container's environment (``kubectl exec``); implements the ExecSession protocol."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._open_streams = 2
        self._readers = [
            asyncio.ensure_future(self._pump(1, proc.stdout)),
            asyncio.ensure_future(self._pump(2, proc.stderr)),
        ]

    @classmethod
    async def start(cls, command: list[str], env: Mapping[str, str], cwd: str | None, *, stdin: bool) -> ExecProcess:
        """Start ``command`` (no shell unless it says so) with the container's env and cwd."""
        proc = await asyncio.create_subprocess_exec(
            *_shim_argv("--exec"),
            *command,
            env=dict(env),
            cwd=cwd,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        return cls(proc)

    def say(self, note: str) -> None:
        """Put one line from drillbook on the session's stderr, ahead of output the command has not yet written."""
        self._queue.put_nowait((2, f"{note}\n".encode()))

    async def _pump(self, channel: int, stream: asyncio.StreamReader | None) -> None:
        try:
            while stream is not None:
                chunk = await stream.read(65536)
                if not chunk:
                    break
                await self._queue.put((channel, chunk))
        finally:
            await self._queue.put(None)

    async def write_stdin(self, data: bytes) -> None:
        """Send bytes to the command's stdin (ignored once the command stopped reading)."""
        if self._proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._proc.stdin.write(data)
            await self._proc.stdin.drain()

    async def close_stdin(self) -> None:
        """Signal EOF on stdin."""
        if self._proc.stdin is not None and not self._proc.stdin.is_closing():
            self._proc.stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await self._proc.stdin.wait_closed()

    async def read(self) -> tuple[int, bytes] | None:
        """The next output chunk as ``(1 stdout | 2 stderr, bytes)``; ``None`` once both streams ended."""
        while self._open_streams:
            item = await self._queue.get()
            if item is not None:
                return item
            self._open_streams -= 1
        return None

    async def wait(self) -> int:
        """Wait for the command; returns its exit code (128+N when killed by signal N)."""
        code = await self._proc.wait()
        return 128 - code if code < 0 else code

    @property
    def done(self) -> bool:
        """Whether the command has exited."""
        return self._proc.returncode is not None

    async def kill(self) -> None:
        """Kill the command and anything it started."""
        group_signal(self._proc.pid, signal.SIGKILL)
        await self._proc.wait()
        for reader in self._readers:
            reader.cancel()
