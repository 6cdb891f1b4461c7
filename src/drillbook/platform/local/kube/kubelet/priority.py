"""CPU priority of starting containers: a replica that is not ready yet yields the CPU to those serving.

On a cluster, a scale-out's new pods start on nodes with CPU to spare (the scheduler places them by their requests),
so the replicas already serving keep theirs. On the embedded platform every container shares one machine's cores:
seventeen interpreters importing their frameworks at once (about a CPU-second each) starve the three replicas that
carry the traffic, and a scale-out that would help a real system looks like an outage. A container with a readiness
probe therefore starts at a lower priority (``nice`` :data:`STARTING_NICE`) and gets the normal one back when it
first turns ready; one without a readiness probe is ready as it starts and is never lowered.

Only a kubelet that may raise a priority back (root) lowers one: otherwise a container would stay slow for good.
"""

from __future__ import annotations

import contextlib
import os

STARTING_NICE = 10
"""How far a starting container is lowered: it still runs whenever a core is idle."""


def lower(pgid: int) -> bool:
    """Lower every process of the container's group; ``False`` when it was not done (not root, or already gone)."""
    if os.geteuid() != 0:
        return False
    try:
        os.setpriority(os.PRIO_PGRP, pgid, STARTING_NICE)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def restore(pgid: int) -> None:
    """Give every process of the container's group the normal priority (those it forks later inherit it)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.setpriority(os.PRIO_PGRP, pgid, 0)
