"""Process hygiene shared by every layer that starts long-lived children."""

from __future__ import annotations

import signal
import sys


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux), so nothing outlives a
    killed run. Call it in the child (``preexec_fn``, or first thing in its ``main``).

    The kernel watches the parent *thread*: start such children from a thread that lives as long as the run.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signum)
