"""Running a decided command in a sandboxed shell: clean env, own process group, deadline, no stdin.

``PATH`` starts with a shim directory whose ``aws``, ``gcloud``, ``az``, ``terraform``, ``ssh``, ``scp``,
``docker`` and ``helm`` refuse to run, and whose ``curl``/``wget`` refuse any target that is not loopback:
a second line of defence behind the policy, for whatever a command runs indirectly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

EXCERPT_CHARS = 4000

_REFUSE = """#!/bin/sh
echo "drillbook: $(basename "$0") is blocked in the sandbox: it would reach outside it" >&2
exit 126
"""

_NET_GUARD = """#!/bin/sh
# drillbook: only loopback targets (127.0.0.0/8, ::1, localhost) may be reached from a drill.
for arg in "$@"; do
  case "$arg" in
    *://*)
      host=$(printf '%s' "$arg" | sed -E 's#^[a-zA-Z+]+://([^/@]*@)?(\\[[^]]*\\]|[^:/?]*).*#\\2#')
      case "$host" in
        127.*|localhost|\\[::1\\]|::1) ;;
        *) echo "drillbook: $(basename "$0") to $host is blocked: only the sandbox may be reached" >&2; exit 6 ;;
      esac
      ;;
  esac
done
exec "{real}" "$@"
"""

REFUSED_TOOLS = ("aws", "gcloud", "gsutil", "az", "terraform", "ssh", "scp", "sftp", "docker", "helm", "eksctl")


def make_shims(directory: Path, tool_dirs: Sequence[Path]) -> Path:
    """Write the shim directory (idempotent) and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for tool in REFUSED_TOOLS:
        _write(directory / tool, _REFUSE)
    search = ":".join(str(d) for d in tool_dirs)
    for tool in ("curl", "wget"):
        import shutil

        real = shutil.which(tool, path=search)
        if real is not None:
            _write(directory / tool, _NET_GUARD.replace("{real}", real))
    return directory


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


def run(command: str, *, env: Mapping[str, str], cwd: Path, deadline_s: float) -> Completed:
    """Run ``bash -c command``; on the deadline, end its whole process group."""
    cwd.mkdir(parents=True, exist_ok=True)
    started = time.time()
    process = subprocess.Popen(
        ["bash", "-c", command],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timed_out = False
    try:
        raw, _ = process.communicate(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process)
        raw, _ = process.communicate()
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    output = raw.decode("utf-8", errors="replace")
    if len(output) > EXCERPT_CHARS:
        output = output[: EXCERPT_CHARS // 2] + "\n…\n" + output[-EXCERPT_CHARS // 2 :]
    return Completed(None if timed_out else process.returncode, output, started, time.time(), timed_out)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=3)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
