"""The drill's clock: wall time for request records, a monotonic stopwatch, and sleeping between polls.

Injected into :class:`~drillbook.drill.session.Drill` (and from there into the SLO monitor), so drill tests run
on a fake clock and never sleep.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What a drill needs to know about time."""

    def time(self) -> float:
        """Wall-clock epoch seconds (request records and outcomes carry these)."""
        ...

    def monotonic(self) -> float:
        """A stopwatch that never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (a fake clock advances instead)."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep()``."""
        time.sleep(seconds)
