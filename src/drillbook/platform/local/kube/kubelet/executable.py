"""Is a container's command there? The lookup a container runtime does before it starts the process.

A real runtime (runc under containerd) resolves ``argv[0]`` against the container's ``PATH`` and fails the
start when it finds nothing: the kubelet then shows ``RunContainerError`` with runc's words, and backs off. Doing
the same lookup before the shim is spawned means an image mapped to a missing command is reported at once, with
its cause, instead of as a container that starts and exits.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

#: What runc prints around its own message, so the event reads as it does on a real node.
_RUNC = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
    "runc create failed: unable to start container process: {}: unknown"
)

#: The PATH a runtime uses when the image and the pod set none.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def start_error(argv: list[str], env: Mapping[str, str], cwd: str | None) -> str | None:
    """Why the runtime could not start ``argv`` (runc's message), or ``None`` when its executable is there.

    Args:
        argv: The container's command line as it will be executed.
        env: The container's complete environment (its ``PATH`` is searched).
        cwd: The container's working directory (a relative command with a ``/`` is resolved against it).
    """
    if not argv or not argv[0]:
        return _RUNC.format("exec: no command specified")
    name = argv[0]
    if "/" in name:
        path = Path(cwd or ".", name) if not os.path.isabs(name) else Path(name)
        problem = _not_runnable(path)
        return None if problem is None else _RUNC.format(f'exec: "{name}": {problem}')
    for directory in (env.get("PATH") or DEFAULT_PATH).split(os.pathsep):
        if directory and _not_runnable(Path(directory, name)) is None:
            return None
    return _RUNC.format(f'exec: "{name}": executable file not found in $PATH')


def _not_runnable(path: Path) -> str | None:
    """Why ``path`` cannot be executed (in Go's wording), or ``None`` when it can."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"stat {path}: no such file or directory"
    except OSError as exc:
        return f"stat {path}: {(exc.strerror or str(exc)).lower()}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory"
    if not info.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) or not os.access(path, os.X_OK):
        return "permission denied"
    return None
