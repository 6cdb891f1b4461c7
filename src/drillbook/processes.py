"""Process hygiene shared by every layer that starts long-lived children."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: prctl(2) option: the signal to receive when the parent thread dies.
PR_SET_PDEATHSIG = 1
#: Loaded in the parent: a child between fork and exec must not dlopen (another thread may hold the loader's lock).
_LIBC = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux), so nothing outlives a
    killed run. Call it in the child (``preexec_fn``, or first thing in its ``main``).

    The kernel watches the parent *thread*: start such children from a thread that lives as long as the run.
    """
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signum)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one owned by another user counts: it is alive, not ours to signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
