"""CrashLoopBackOff and ImagePullBackOff timing: 10 s doubling to 300 s, forgotten after 10 min of good behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Upstream kubelet back-off for one container, in *nominal* seconds (what events and statuses show).

    The first failure restarts at once; later failures wait 10 s, 20 s, 40 s … capped at 300 s. A container that ran
    for ``reset_after_s`` resets the sequence. ``time_factor`` scales real waiting only.
    """

    time_factor: float = 1.0
    initial_s: float = 10.0
    cap_s: float = 300.0
    reset_after_s: float = 600.0
    _next_s: float = field(default=0.0, init=False)

    def failed(self, ran_for_s: float | None = None) -> float:
        """Record a failure; returns the nominal delay before the next attempt (0 for the first failure).

        Args:
            ran_for_s: Real seconds the failed run lasted; a long enough run resets the sequence first.
        """
        if ran_for_s is not None and ran_for_s >= self.reset_after_s * self.time_factor:
            self._next_s = 0.0
        delay = self._next_s
        self._next_s = self.initial_s if delay == 0 else min(delay * 2, self.cap_s)
        return delay

    def real(self, nominal_s: float) -> float:
        """Real seconds to wait for a nominal delay."""
        return nominal_s * self.time_factor

    def reset(self) -> None:
        """Forget earlier failures."""
        self._next_s = 0.0
