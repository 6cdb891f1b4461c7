"""Host facts the datastores share: the ``postgres`` account, cache and runtime dirs, ports, process groups."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from drillbook.errors import DatastoreError

#: Longest path a Unix socket may have on Linux is 107 bytes; keep a margin for ``.s.PGSQL.65535.lock``.
MAX_SOCKET_DIR_LEN = 80


@dataclass(frozen=True)
class Account:
    """A local user that runs a server (PostgreSQL refuses to run as root)."""

    name: str
    uid: int
    gid: int


def postgres_account() -> Account:
    """Return the ``postgres`` user, or raise a ``DatastoreError`` that says how to get one."""
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise DatastoreError(
            "expected a local user 'postgres' to run PostgreSQL as (it refuses to run as root), found none. "
            "Hint: install the Debian package postgresql-15, which creates it."
        ) from exc
    return Account("postgres", entry.pw_uid, entry.pw_gid)


def cache_dir() -> Path:
    """Directory for reusable artefacts (template data directories): ``$DRILLBOOK_CACHE_DIR`` or a temp dir."""
    configured = os.environ.get("DRILLBOOK_CACHE_DIR")
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / "drillbook-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runtime_root() -> Path:
    """A short, world-traversable directory for data and sockets the caller's directory cannot hold."""
    path = Path(tempfile.gettempdir()) / "drillbook-run"
    path.mkdir(mode=0o711, exist_ok=True)
    # Only the traverse bit for others: each instance's own subdirectory is private to its owner.
    with contextlib.suppress(PermissionError):
        path.chmod(0o711)
    return path


def reachable_by(path: Path, account: Account) -> bool:
    """Whether ``account`` may traverse every directory from ``/`` down to ``path`` (inclusive)."""
    groups = {account.gid, *os.getgrouplist(account.name, account.gid)}
    current = path.resolve()
    for directory in [current, *current.parents]:
        try:
            info = directory.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == account.uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def chown_tree(path: Path, account: Account) -> None:
    """Give ``path`` and everything below it to ``account``."""
    os.chown(path, account.uid, account.gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), account.uid, account.gid, follow_symlinks=False)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that is free right now (the OS picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path | None, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    if path is None or not path.exists():
        return "(no log file)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(text) if text else "(log is empty)"


def _live(procs: list[psutil.Process]) -> list[psutil.Process]:
    left = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            # Zombies are dead: whoever inherited them reaps them, we cannot.
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
    return left


def _tree(pid: int) -> list[psutil.Process]:
    try:
        leader = psutil.Process(pid)
        return [leader, *leader.children(recursive=True)]
    except psutil.Error:
        return []


def reap_group(proc: subprocess.Popen[bytes], *, first_signal: int | None, grace: float) -> None:
    """Stop ``proc`` and every process below it: ``first_signal`` to the leader, then SIGKILL to all.

    PostgreSQL's children call setsid(), so the process group alone does not find them: the process
    tree is collected before signalling and every member is waited for.

    Args:
        proc: leader started with ``start_new_session=True``.
        first_signal: polite signal for the leader (None skips straight to SIGKILL).
        grace: seconds to wait for the leader after ``first_signal``.
    """
    members = _tree(proc.pid)
    if first_signal is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(first_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
        members += _tree(proc.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(proc.pid) == proc.pid:  # only when it leads its own group (not an entrypoint's child)
            os.killpg(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while True:
        left = [m for m in _live(members) if m.pid != proc.pid]
        for member in left:
            with contextlib.suppress(psutil.Error):
                member.kill()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        if not left:
            return
        if time.monotonic() > deadline:
            raise DatastoreError(
                f"expected every process under pid {proc.pid} to exit after SIGKILL, these still run: "
                f"{sorted(m.pid for m in left)}. Hint: inspect them with 'ps -o pid,ppid,stat,cmd -p <pid>'."
            )
        time.sleep(0.01)
