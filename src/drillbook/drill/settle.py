"""Settled and still breached: when a recovery watch may end before its deadline after actions that did not help.

The watch runs until the SLOs are restored and held, or until the deadline. It may end sooner only when the
outcome is decided. :meth:`drillbook.drill.session.Drill._not_restorable` decides when no command could have acted
at all; this module decides the commoner case, where some action ran (a restart, a scale, an ``UPDATE``) and
did not help. Then the outcome is decided when, over one *settle window*:

- the fault is still applied and persists until reverted, and the control run saw no self-healing (so neither
  time nor the fault itself lifts it);
- no command of the drill is still running (the steps ended, and with them their background commands);
- nothing the scenario deployed changed: the sandbox's change probe (:class:`SandboxSnapshot`) saw every rollout
  complete, no pod starting, waiting or terminating, and the same fingerprint (resourceVersions, restart
  counts) the whole time, so no controller is still working on an action's effect;
- the SLOs failed in every monitor window and never came back.

The window lasts at least ``max(control window, 2 x the required hold)``: as long as the control run watched the
same breached system heal nothing, and long enough that a flapping signal (whose hold grows with its quiet gaps)
shows a quiet gap inside it. It starts at the later of the end of the last command that could act and the moment
the fingerprint was first seen as it is now. Missing evidence (no probe, an API error, a gap in the monitor's
windows) never decides anything: the watch goes on.

Everything here is pure and fed observations on the drill's stopwatch, so it is table-tested on a fake clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise


@dataclass(frozen=True)
class SandboxSnapshot:
    """What a sandbox's change probe saw at one moment (``KubeSandbox.change_fingerprint``)."""

    fingerprint: str
    """Changes whenever anything the scenario deployed changes (object resourceVersions, container restarts)."""
    unsettled: tuple[str, ...] = ()
    """Why the sandbox is not at rest now (``rollout of shop/api: 1 of 2 replicas updated``); empty when it is."""


class SettleTracker:
    """Follows a sandbox's snapshots: since when it has been at rest with an unchanged fingerprint.

    A snapshot is taken now and then, not continuously; resourceVersions only grow, so any change between two
    snapshots still shows as a new fingerprint, and the rest is dated from the first snapshot that saw it (later
    than the real change, never earlier).
    """

    def __init__(self) -> None:
        self._fingerprint: str | None = None
        self._since: float | None = None
        self.why_not: str = "the sandbox was not probed"
        """Why :attr:`settled_since` is ``None`` (for the journal)."""

    @property
    def settled_since(self) -> float | None:
        """Stopwatch time from which the sandbox has been at rest and unchanged, or ``None``."""
        return self._since

    def observe(self, t: float, snapshot: SandboxSnapshot | None, problem: str = "") -> None:
        """Record one probe at stopwatch time ``t``: its snapshot, or ``None`` and why there is none."""
        if snapshot is None or snapshot.unsettled:
            self._fingerprint, self._since = None, None
            self.why_not = "; ".join(snapshot.unsettled) if snapshot is not None else (problem or "no probe")
            return
        if snapshot.fingerprint != self._fingerprint:
            self._fingerprint, self._since = snapshot.fingerprint, t
            self.why_not = ""


@dataclass(frozen=True)
class SettleEvidence:
    """What the drill knows at one poll of its recovery watch, on its stopwatch."""

    now: float
    fault_lasts: bool
    """The fault is applied, not reverted, and persists until reverted (``Fault.persists_until_reverted``)."""
    control_window_s: float | None
    """The control run's window when it saw no self-healing; ``None`` when none ran or it healed."""
    commands_running: bool
    """Whether a step or a background command of the drill may still be running."""
    last_action_ended: float | None
    """When the last command that could act on the system ended (``None``: none ran)."""
    settled_since: float | None
    """From :class:`SettleTracker`."""
    samples: Sequence[tuple[float, bool]]
    """``(end of window, failing)`` for each monitor window since the fault."""
    restores: Sequence[float]
    """When each restore since the fault was seen."""
    breached_now: bool
    required_hold_s: float
    max_sample_gap_s: float
    """Windows further apart than this leave a stretch unseen: no evidence for it (the monitor's window)."""


@dataclass(frozen=True)
class Settled:
    """A decided watch: settled and breached for the whole settle window."""

    since: float
    """Start of the settle window."""
    settled_since: float
    last_action_ended: float | None
    window_s: float
    control_window_s: float

    def describe(self, fault: str) -> str:
        """The sentence the journal, the watch note and the verdict's reason carry."""
        action = (
            f"the last action ended at t={self.last_action_ended:.1f} s"
            if self.last_action_ended is not None
            else "no action ran"
        )
        return (
            f"nothing the scenario deployed has changed since t={self.settled_since:.1f} s, {action}, the SLOs "
            f"stayed breached throughout the {self.window_s:.1f} s settle window since t={self.since:.1f} s, the "
            f"{fault} fault persists until reverted, and the control run saw no self-healing in "
            f"{self.control_window_s:.0f} s"
        )


def settle_window_s(control_window_s: float, required_hold_s: float) -> float:
    """How long the sandbox must stay settled and breached: as long as the control watched, and twice the hold."""
    return max(control_window_s, 2.0 * required_hold_s)


def settled_and_breached(seen: SettleEvidence) -> Settled | None:
    """The decided outcome, or ``None`` while anything could still restore the SLOs before the deadline."""
    if not seen.fault_lasts or seen.control_window_s is None or seen.commands_running:
        return None
    if seen.settled_since is None or not seen.breached_now:
        return None
    window = settle_window_s(seen.control_window_s, seen.required_hold_s)
    start = max(seen.settled_since, seen.last_action_ended if seen.last_action_ended is not None else -1.0)
    if seen.now - start < window:
        return None
    if any(t >= start for t in seen.restores):
        return None
    if not _failing_throughout(seen.samples, start, seen.now, seen.max_sample_gap_s):
        return None
    return Settled(start, seen.settled_since, seen.last_action_ended, window, seen.control_window_s)


def _failing_throughout(samples: Sequence[tuple[float, bool]], start: float, end: float, gap: float) -> bool:
    """Every window from ``start`` to ``end`` failed, and the windows cover it with no gap wider than ``gap``."""
    inside = sorted(t for t, _ in samples if start <= t <= end)
    if any(not failing for t, failing in samples if start <= t <= end) or not inside:
        return False
    edges = [start, *inside, end]
    return all(b - a <= gap for a, b in pairwise(edges))
