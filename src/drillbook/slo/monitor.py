"""A windowed SLO monitor over a stream of request records.

Records arrive (from any thread) with :meth:`Monitor.record`; :meth:`Monitor.poll` runs every tick that is
due by the injected clock. Each tick summarises the sliding window ``(t - window_s, t]`` of record
timestamps into a :class:`WindowStats`, judges every check on it, and emits:

* :class:`Breach` when a check fails on a window (and it was not already breached);
* :class:`Restore` when a breached check has then held on *every* tick for ``hold_s``.

A window with fewer than ``min_requests`` requests is **no data**: it is neither a pass nor a failure, it
does not breach, and it interrupts a hold (a restore must be seen, not assumed from silence).

Ticks run ``lag_s`` behind the clock so that records still in flight (the generator promises them within a
second) land in the window they belong to before it is judged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from drillbook.slo.checks import Check, CheckStatus
from drillbook.slo.stats import RequestRecord, WindowStats


@dataclass(frozen=True)
class Breach:
    """``check`` failed on the window ending at ``t`` (epoch seconds) with ``value`` (canonical units)."""

    t: float
    check: Check
    value: float | None


@dataclass(frozen=True)
class Restore:
    """``check`` has held on every window from ``t - held_s`` to ``t``, after a breach."""

    t: float
    check: Check
    value: float | None
    held_s: float

    @property
    def since(self) -> float:
        """When the check started holding again: the moment the service actually came back."""
        return self.t - self.held_s


MonitorEvent = Breach | Restore


@dataclass(frozen=True)
class MonitorSettings:
    """How the monitor windows and judges traffic."""

    window_s: float = 5.0
    """Sliding window length in seconds: long enough to hold a few dozen requests at drill traffic rates."""
    tick_s: float = 1.0
    """Seconds between evaluations: the resolution of breach and restore times."""
    hold_s: float = 10.0
    """A breached check counts as restored only after holding this long, so one lucky window is not recovery."""
    min_requests: int = 5
    """Fewer requests than this in a window is no data: one failed request out of two is not a 50 % error rate."""
    lag_s: float = 1.0
    """Evaluate windows this far behind the clock, so records still in flight are counted where they belong."""


@dataclass
class CheckState:
    """Where one check stands after the latest tick."""

    check: Check
    status: CheckStatus | None = None
    value: float | None = None
    breached: bool = False
    ok_since: float | None = None
    """``t_end`` of the first of the current unbroken run of OK windows, ``None`` when not OK now."""


@dataclass
class _Ledger:
    records: list[RequestRecord] = field(default_factory=list)
    next_tick: float | None = None
    last_tick: float | None = None


class Monitor:
    """Sliding-window SLO monitor with breach and restore events.

    Args:
        checks: The objectives to judge.
        settings: Window, tick, hold, minimum requests and lag.
        clock: Wall-clock epoch seconds; inject a fake one in tests.
        on_stats: Called with every window's statistics (for the drill's journal).
        on_event: Called with every breach and restore.
        window_source: Computes a window's statistics from elsewhere than the records, given ``(t_end,
            window_s)`` — :class:`drillbook.slo.promql.PromqlWindows` for ``slo_source: prometheus``. Records
            are still accepted (and discarded as they age) so callers need not care which source judges.
    """

    def __init__(
        self,
        checks: Sequence[Check],
        settings: MonitorSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        on_stats: Callable[[WindowStats], None] | None = None,
        on_event: Callable[[MonitorEvent], None] | None = None,
        window_source: Callable[[float, float], WindowStats] | None = None,
    ) -> None:
        self.settings = settings or MonitorSettings()
        self._clock = clock
        self._on_stats = on_stats
        self._on_event = on_event
        self.window_source = window_source
        self._lock = threading.Lock()
        self._ledger = _Ledger()
        self._states = [CheckState(check) for check in checks]
        self.history: list[WindowStats] = []
        """Every window evaluated so far, oldest first."""
        self.events: list[MonitorEvent] = []
        """Every breach and restore so far, oldest first."""

    def record(self, record: RequestRecord) -> None:
        """Add one request record; safe to call from the traffic generator's reader thread."""
        with self._lock:
            self._ledger.records.append(record)

    def extend(self, records: Iterable[RequestRecord]) -> None:
        """Add many request records."""
        with self._lock:
            self._ledger.records.extend(records)

    def poll(self) -> list[WindowStats]:
        """Run every tick that is due by the clock (minus ``lag_s``); return their statistics."""
        due = self._clock() - self.settings.lag_s
        with self._lock:
            if self._ledger.next_tick is None:
                self._ledger.next_tick = due
            ends: list[float] = []
            while self._ledger.next_tick <= due:
                ends.append(self._ledger.next_tick)
                self._ledger.next_tick += self.settings.tick_s
        return [self.tick(t_end) for t_end in ends]

    def tick(self, t_end: float) -> WindowStats:
        """Evaluate the window ending at ``t_end`` now, emit its events, and return its statistics."""
        window = self.settings.window_s
        # Outside the lock: a PromQL source makes HTTP queries, and record() must not wait for them.
        sourced = self.window_source(t_end, window) if self.window_source is not None else None
        with self._lock:
            ledger = self._ledger
            inside = [r for r in ledger.records if t_end - window < r.ts <= t_end]
            # Keep only records a later window can still see; everything older is done with.
            ledger.records = [r for r in ledger.records if r.ts > t_end - window]
            ledger.last_tick = t_end
            stats = sourced if sourced is not None else WindowStats.of(inside, t_end=t_end, window_s=window)
            emitted = [event for state in self._states if (event := self._judge(state, stats)) is not None]
            self.history.append(stats)
            self.events.extend(emitted)
        if self._on_stats is not None:
            self._on_stats(stats)
        if self._on_event is not None:
            for event in emitted:
                self._on_event(event)
        return stats

    def states(self) -> list[CheckState]:
        """A snapshot of every check's state after the latest tick."""
        with self._lock:
            return [CheckState(s.check, s.status, s.value, s.breached, s.ok_since) for s in self._states]

    @property
    def breached(self) -> bool:
        """Whether any check is in breach (failed and not yet restored)."""
        with self._lock:
            return any(state.breached for state in self._states)

    def holding_for(self) -> float:
        """Seconds every check has held without a break, as of the latest tick (0.0 if any is not OK).

        This is what a baseline phase waits on: "the SLOs held for the settle window".
        """
        with self._lock:
            last = self._ledger.last_tick
            if last is None or not self._states:
                return 0.0
            starts = [state.ok_since for state in self._states]
            if any(start is None for start in starts):
                return 0.0
            return last - max(start for start in starts if start is not None)

    def _judge(self, state: CheckState, stats: WindowStats) -> MonitorEvent | None:
        status, value = state.check.evaluate(stats, min_requests=self.settings.min_requests)
        state.status, state.value = status, value
        t = stats.t_end
        if status is CheckStatus.FAILING:
            state.ok_since = None
            if not state.breached:
                state.breached = True
                return Breach(t=t, check=state.check, value=value)
            return None
        if status is CheckStatus.NO_DATA:
            state.ok_since = None
            return None
        if state.ok_since is None:
            state.ok_since = t
        held = t - state.ok_since
        if state.breached and held >= self.settings.hold_s:
            state.breached = False
            return Restore(t=t, check=state.check, value=value, held_s=held)
        return None
