"""Running a decided command in a sandboxed shell: clean env, own process group, deadline, no stdin.

``PATH`` starts with a shim directory whose ``aws``, ``gcloud``, ``az``, ``terraform``, ``ssh``, ``scp``,
``docker`` and ``helm`` refuse to run, and whose ``curl``/``wget`` refuse any target that is not loopback:
a second line of defence behind the policy, for whatever a command runs indirectly. A bare ``redis-cli``
(no ``-h``/``-u``) is pointed at the sandbox's Redis (``REDIS_HOST``/``REDIS_PORT``), as ``psql`` is by ``PGHOST``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from drillbook.execute.containment import Containment
from drillbook.processes import die_with_parent

EXCERPT_CHARS = 4000

_REFUSE = """#!/bin/sh
echo "drillbook: $(basename "$0") is blocked in the sandbox: it would reach outside it" >&2
exit 126
"""

_REDIS_DEFAULT = """#!/bin/sh
# drillbook: a runbook's bare `redis-cli` means the system's Redis: the sandbox's, not whatever listens on :6379 here.
for arg in "$@"; do
  case "$arg" in -h|-h*|-u|-s|--tls) exec "{real}" "$@" ;; esac
done
if [ -n "$REDIS_HOST" ]; then exec "{real}" -h "$REDIS_HOST" -p "${REDIS_PORT:-6379}" "$@"; fi
exec "{real}" "$@"
"""

REFUSED_TOOLS = (
    "aws", "gcloud", "gsutil", "az", "terraform", "ssh", "scp", "sftp", "rsync", "telnet", "docker", "helm", "eksctl",
    "pip", "pip3", "apt", "apt-get",
)  # fmt: skip
KILL_GRACE_S = 3.0
"""How long a command's process group gets after SIGTERM before SIGKILL (a clean shutdown of kubectl and psql)."""


def make_shims(directory: Path, tool_dirs: Sequence[Path]) -> Path:
    """Write the shim directory (idempotent) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for tool in REFUSED_TOOLS:
        _write(directory / tool, _REFUSE)
    search = ":".join(str(d) for d in tool_dirs)
    guard = (Path(__file__).with_name("netguard.py")).read_text(encoding="utf-8")
    for tool in ("curl", "wget"):
        real = shutil.which(tool, path=search)
        if real is not None:
            # -I: the shim ignores PYTHON* variables and the user's site directory.
            script = f"#!{_shim_python()} -I\n{guard}\nraise SystemExit(main({real!r}, sys.argv))\n"
            _write(directory / tool, script)
    real_redis = shutil.which("redis-cli", path=search)
    if real_redis is not None:
        _write(directory / "redis-cli", _REDIS_DEFAULT.replace("{real}", real_redis))
    return directory


def _shim_python() -> str:
    """An interpreter the step user may run: the system's (drillbook's own may live in root's home)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK) and os.stat(candidate).st_mode & 0o001:
            return candidate
    return sys.executable


def _write(path: Path, content: str) -> None:
    path.write_text(content, encoding="utf-8")
    path.chmod(0o755)


@dataclass(frozen=True)
class Completed:
    """How a command ended."""

    exit_code: int | None
    output: str
    started: float
    ended: float
    timed_out: bool


def run(
    command: str,
    *,
    env: Mapping[str, str],
    cwd: Path,
    deadline_s: float,
    containment: Containment | None = None,
    workdir: Path | None = None,
) -> Completed:
    """Run ``bash -c command``; on the deadline, end its whole process group.

    With a :class:`Containment` that holds, the command runs contained (see :mod:`drillbook.execute.containment`)
    with ``workdir`` (which holds ``cwd``) as its only writable place; ``env``'s paths are then as the command
    sees them, under :data:`~drillbook.execute.containment.STEP_ROOT`. Either way the command dies with the
    thread that runs it (parent-death signal), so a killed run leaves none of it behind.
    """
    cwd.mkdir(parents=True, exist_ok=True)
    contained = containment is not None and containment.contained and workdir is not None
    argv = containment.argv(command, workdir) if contained and containment and workdir else ["bash", "-c", command]
    started = time.time()
    process = subprocess.Popen(
        argv,
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only: dies with the thread that runs it
    )
    timed_out = False
    try:
        raw, _ = process.communicate(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        raw = _end_group(process)
    except BaseException:
        _end_group(process)
        raise
    else:
        _end_group(process)  # reap what the command left running in the background (`cmd &`)
    output = raw.decode("utf-8", errors="replace")
    if len(output) > EXCERPT_CHARS:
        output = output[: EXCERPT_CHARS // 2] + "\n…\n" + output[-EXCERPT_CHARS // 2 :]
    return Completed(None if timed_out else process.returncode, output, started, time.time(), timed_out)


class Spawned:
    """A command running in the background (:func:`spawn`); its output goes to a log file in the work dir."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        """Its process and process group id."""
        return self.process.pid

    def poll(self) -> int | None:
        """Its exit code, or ``None`` while it runs."""
        return self.process.poll()

    def output(self) -> str:
        """What it printed so far (the log's last :data:`EXCERPT_CHARS`)."""
        try:
            with self.log.open("rb") as log:
                log.seek(max(0, self.log.stat().st_size - EXCERPT_CHARS))
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def end(self) -> int | None:
        """End its whole process group (SIGTERM, then SIGKILL after :data:`KILL_GRACE_S`)."""
        _end_group(self.process)
        return self.process.returncode


def spawn(
    command: str,
    *,
    env: Mapping[str, str],
    cwd: Path,
    log: Path,
    containment: Containment | None = None,
    workdir: Path | None = None,
) -> Spawned:
    """Start ``bash -c command`` in the background, held exactly as :func:`run` holds a command (own process
    group, parent-death signal, contained when ``containment`` holds), its output to ``log``.

    Call it from a thread that lives as long as the run: the parent-death signal follows the starting thread.
    """
    cwd.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    contained = containment is not None and containment.contained and workdir is not None
    argv = containment.argv(command, workdir) if contained and containment and workdir else ["bash", "-c", command]
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only: dies with the thread that runs it
        )
    return Spawned(process, log)


def _end_group(process: subprocess.Popen[bytes]) -> bytes:
    """SIGTERM the command's process group, SIGKILL it after a grace period, and collect the remaining output.

    The group is killed even when its leader has already exited: a background child that ignores SIGTERM
    would otherwise hold the output pipe open, and the drill, forever.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        raw, _ = process.communicate(timeout=KILL_GRACE_S)
    except subprocess.TimeoutExpired:  # a process that left the group (setsid) still holds the pipe
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        process.wait()
        raw = b""
    return raw or b""
