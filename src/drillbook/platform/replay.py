"""Replay, after a kill, the bring-up undos a sandbox journaled and never ran (``bringup.jsonl``).

Each kind of undo registers its replay here with :func:`replays`. A replay says truthfully what it did
(``"removed …"``, ``"already gone: …"``) and raises :class:`ReplayFailed` when it could not undo; each outcome is
appended to the sandbox's journal (``by: cleanup``), so a second cleanup finds nothing left to do.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from drillbook.errors import SandboxError
from drillbook.platform.bringup import (
    FILE,
    ActionEvent,
    BringUpEvent,
    BringUpJournal,
    Facts,
    UndoSpec,
    pending_undos,
    runner_pid,
)
from drillbook.processes import pid_alive

Replay = Callable[[UndoSpec, Facts], str]
REPLAYS: dict[str, Replay] = {}
STATE_PREFIX = "drillbook-"


class ReplayFailed(SandboxError):
    """An undo could not be replayed: what was left, and what to do about it."""


def replays(kind: str) -> Callable[[Replay], Replay]:
    """Register the replay of one kind of undo."""

    def register(replay: Replay) -> Replay:
        REPLAYS[kind] = replay
        return replay

    return register


@replays("remove-dir")
def _remove_dir(spec: UndoSpec, _facts: Facts) -> str:
    path = Path(str(spec.args["path"]))
    if path.parent != Path(tempfile.gettempdir()) or not path.name.startswith(STATE_PREFIX):
        raise ReplayFailed(f"left {path} alone: it is not a drillbook temp dir ({tempfile.gettempdir()}/drillbook-…)")
    if not path.exists():
        return f"{path} is already gone"
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        raise ReplayFailed(f"could not remove {path}; remove it by hand")
    return f"removed {path}"


@replays("stop-process")
def _stop_process(spec: UndoSpec, facts: Facts) -> str:
    import psutil

    pid, created = facts.get("pid"), facts.get("create_time")
    if not isinstance(pid, int):
        return f"nothing to stop: the run recorded no pid for {spec.what} (its start was cut short)"
    if not psutil.pid_exists(pid):
        return f"pid {pid} is already gone"
    if not isinstance(created, float):
        raise ReplayFailed(f"pid {pid} ({spec.what}) was recorded without its start time, so it cannot be told from "
                           "a reused pid; it was left alone: check it by hand")  # fmt: skip
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - created) > 0.01:
            return f"pid {pid} is gone (that pid is now another process, left alone)"
        if process.status() == psutil.STATUS_ZOMBIE:
            return f"pid {pid} is gone (a zombie awaiting its parent)"
    except psutil.NoSuchProcess:
        return f"pid {pid} is already gone"
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and psutil.pid_exists(pid) and process.status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.1)
        if psutil.pid_exists(pid) and process.status() != psutil.STATUS_ZOMBIE:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, psutil.NoSuchProcess):
        pass
    except PermissionError as exc:
        raise ReplayFailed(f"could not stop process group {pid} ({spec.what}): {exc}") from exc
    return f"stopped process group {pid}"


@replays("remove-containers")
def _remove_containers(spec: UndoSpec, _facts: Facts) -> str:
    from drillbook.platform.docker.datastores import remove_run_containers

    label = str(spec.args["label"])
    try:
        removed = remove_run_containers(label)
    except Exception as exc:  # the engine may be gone: say so, never claim a removal
        raise ReplayFailed(f"could not remove the containers labelled {label}: {type(exc).__name__}: {exc}") from exc
    if not removed:
        return f"no container labelled {label} is left"
    return f"removed {len(removed)} container(s) labelled {label}: {', '.join(r[:12] for r in removed)}"


@replays("remove-container")
def _remove_container(spec: UndoSpec, facts: Facts) -> str:
    container = facts.get("container")
    if not isinstance(container, str):
        return f"nothing to remove: the run recorded no container for {spec.what} (its start was cut short)"
    done = subprocess.run(["docker", "rm", "-f", container], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 and "No such container" not in done.stderr:
        raise ReplayFailed(f"docker rm -f {container} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return f"container {container[:12]} is already gone" if done.returncode else f"removed container {container[:12]}"


@replays("run")
def _run(spec: UndoSpec, _facts: Facts) -> str:
    argv_arg, env_arg = spec.args.get("argv"), spec.args.get("env")
    if not isinstance(argv_arg, list) or not argv_arg:
        raise ReplayFailed(f"the journal's undo {spec.what!r} names no command to run")
    argv = [str(a) for a in argv_arg]
    env = {**os.environ, **({str(k): str(v) for k, v in env_arg.items()} if isinstance(env_arg, dict) else {})}
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReplayFailed(f"{' '.join(argv)} did not complete: {exc}") from exc
    if done.returncode != 0:
        raise ReplayFailed(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return f"ran {' '.join(argv)}"


def replay_sandboxes(run_dir: Path, say: Callable[[str], None]) -> int:
    """Replay every sandbox's pending undos; return how many could not be undone."""
    failures = 0
    for path in sorted((run_dir / "sandboxes").glob(f"*/{FILE}")):
        failures += replay_one(path, say)
    return failures


def replay_one(path: Path, say: Callable[[str], None]) -> int:
    """Replay one sandbox's pending undos, newest first, journaling each outcome; return the failures."""
    name = path.parent.name
    journal = BringUpJournal(path)
    events = journal.read(lambda warning: say(f"warning: {warning}"))
    pending = pending_undos(events)
    if not pending:
        return 0
    pid = runner_pid(events)
    if pid is not None and pid != os.getpid() and pid_alive(pid):
        say(f"{name}: left its bring-up alone: the run that made it (pid {pid}) is still running")
        return 0
    failures = 0
    for action, undo, facts in pending:
        if undo is None:
            continue  # nothing of it outlives the run
        began = time.monotonic()
        replay = REPLAYS.get(undo.kind)
        try:
            if replay is None:
                known = ", ".join(sorted(REPLAYS))
                raise ReplayFailed(f"no replay for the undo kind {undo.kind!r} (known: {known}); {undo.what} by hand")
            outcome = replay(undo, facts)
        except ReplayFailed as exc:
            failures += 1
            say(f"{name}: {action}: NOT undone: {exc}")
            event = BringUpEvent(ActionEvent.UNDO_FAILED, action, error=str(exc), by="cleanup")
        else:
            say(f"{name}: {action}: {outcome}")
            event = BringUpEvent(ActionEvent.UNDONE, action, facts={"outcome": outcome}, by="cleanup")
        journal.write(BringUpEvent(**{**event.__dict__, "seconds": time.monotonic() - began}))
    return failures
