"""Data homes (``pg-*``) and socket dirs (``pgsock-*``) under the runtime root, and collecting abandoned ones.

They exist when the caller's directory is unreachable for the ``postgres`` user or too long for a socket path.
Entrypoints (pods) never learn when their pod directory is deleted, and a SIGKILLed process cannot clean up,
so whoever makes a new one first removes those nobody uses any more.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from drillbook.platform.local.datastores._host import runtime_root

#: In a data home: the path of the symlink that uses it.
OWNER_FILE = "owner"
#: In a socket dir: the pid of the process that made it (alive → in use, even before the server binds).
CREATOR_FILE = "creator"


def _pid_alive(pidfile: Path) -> bool:
    """Whether the pid on the first line of a postmaster.pid or socket lock file still runs."""
    try:
        return psutil.pid_exists(int(pidfile.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return False


def _home_abandoned(home: Path) -> bool:
    if not (home / OWNER_FILE).exists():
        return False  # still being made, or not ours to judge
    link = Path((home / OWNER_FILE).read_text())
    if link.is_symlink() and link.resolve() == (home / "data").resolve():
        return False  # a restarted pod or instance would reuse it
    return not _pid_alive(home / "data" / "postmaster.pid")


def _socket_dir_abandoned(directory: Path) -> bool:
    if not (directory / CREATOR_FILE).exists() or _pid_alive(directory / CREATOR_FILE):
        return False
    return not any(_pid_alive(lock) for lock in directory.glob(".s.PGSQL.*.lock"))


def collect_orphans(min_age: float = 60.0) -> None:
    """Remove homes whose owner link is gone and socket dirs whose server is gone (older than ``min_age`` s)."""
    root = runtime_root()
    candidates: list[tuple[Path, Callable[[Path], bool]]] = [(p, _home_abandoned) for p in root.glob("pg-*")]
    candidates += [(p, _socket_dir_abandoned) for p in root.glob("pgsock-*")]
    for path, abandoned in candidates:
        try:
            if time.time() - path.stat().st_mtime < min_age or not abandoned(path):
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
