"""The windowed monitor on synthetic streams, with a fake clock: windows, percentiles, breach, restore, hold."""

from __future__ import annotations

from drillbook.slo import (
    Breach,
    Check,
    Metric,
    Monitor,
    MonitorEvent,
    MonitorSettings,
    RequestRecord,
    Restore,
    WindowStats,
    percentile,
)

ERRORS_UNDER_5 = Check(metric=Metric.ERROR_RATE, op="<", threshold=0.05, text="error rate < 5%")
P95_UNDER_200 = Check(metric=Metric.LATENCY_P95, op="<", threshold=200.0, text="p95 < 200ms")


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rec(ts: float, ok: bool = True, latency_ms: float = 10.0) -> RequestRecord:
    return RequestRecord(ts=ts, name="health", method="GET", status=200 if ok else 500, ok=ok, latency_ms=latency_ms)


def traffic(
    start: float, end: float, per_s: int = 10, ok: bool = True, latency_ms: float = 10.0
) -> list[RequestRecord]:
    """``per_s`` records per second, evenly spread over [start, end)."""
    count = round((end - start) * per_s)
    return [rec(start + (i + 0.5) / per_s, ok, latency_ms) for i in range(count)]


def settings(**kw: float) -> MonitorSettings:
    base = {"window_s": 5.0, "tick_s": 1.0, "hold_s": 10.0, "min_requests": 5, "lag_s": 0.0}
    return MonitorSettings(**(base | kw))  # type: ignore[arg-type]


def run(monitor: Monitor, clock: FakeClock, until: float) -> None:
    while clock.now < until:
        clock.now += 1.0
        monitor.poll()


def test_percentiles_are_nearest_rank_observed_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_window_counts_only_records_inside_it() -> None:
    clock = FakeClock(1_000.0)
    monitor = Monitor([ERRORS_UNDER_5], settings(), clock=clock)
    monitor.extend([rec(994.9), rec(995.0), rec(995.1, ok=False), rec(1_000.0, latency_ms=90.0), rec(1_000.1)])
    stats = monitor.tick(1_000.0)
    assert (stats.requests, stats.errors, stats.error_rate) == (2, 1, 0.5)
    assert (stats.p50_ms, stats.p99_ms, stats.rps) == (10.0, 90.0, 0.4)


def test_every_tick_reaches_the_stats_sink_in_order() -> None:
    clock = FakeClock(1_000.0)
    seen: list[WindowStats] = []
    monitor = Monitor([ERRORS_UNDER_5], settings(), clock=clock, on_stats=seen.append)
    monitor.extend(traffic(990.0, 1_010.0))
    monitor.poll()
    run(monitor, clock, 1_005.0)
    assert [s.t_end for s in seen] == [1_000.0, 1_001.0, 1_002.0, 1_003.0, 1_004.0, 1_005.0]
    assert all(s.requests == 50 and s.rps == 10.0 for s in seen)


def test_ticks_run_behind_the_clock_by_the_lag() -> None:
    clock = FakeClock(1_000.0)
    monitor = Monitor([ERRORS_UNDER_5], settings(lag_s=1.0), clock=clock)
    assert [s.t_end for s in monitor.poll()] == [999.0]


def test_error_burst_breaches_once_then_restores_after_the_hold() -> None:
    clock = FakeClock(1_000.0)
    events: list[MonitorEvent] = []
    monitor = Monitor([ERRORS_UNDER_5], settings(hold_s=10.0), clock=clock, on_event=events.append)
    monitor.extend(traffic(990.0, 1_010.0) + traffic(1_010.0, 1_020.0, ok=False) + traffic(1_020.0, 1_060.0))
    monitor.poll()
    run(monitor, clock, 1_060.0)

    breach, restore = events
    assert isinstance(breach, Breach)
    assert breach.t == 1_011.0  # the first window with 10 bad requests out of 50: 20 %
    assert breach.value == 0.2
    assert isinstance(restore, Restore)
    # The window is clean again at 1025 (the last error was at 1019.95); held from there for 10 s.
    assert restore.since == 1_025.0
    assert (restore.t, restore.held_s, restore.value) == (1_035.0, 10.0, 0.0)
    assert monitor.events == events
    assert not monitor.breached


def test_a_failing_window_during_the_hold_restarts_it() -> None:
    clock = FakeClock(1_000.0)
    monitor = Monitor([ERRORS_UNDER_5], settings(hold_s=10.0, window_s=1.0), clock=clock)
    monitor.extend(traffic(995.0, 1_000.0, ok=False) + traffic(1_000.0, 1_060.0))
    monitor.extend(traffic(1_006.0, 1_007.0, ok=False))  # relapse 6 s into the hold
    monitor.poll()
    run(monitor, clock, 1_060.0)
    restores = [e for e in monitor.events if isinstance(e, Restore)]
    # Still breached when it relapses, so no second breach: the hold simply starts over after the relapse.
    assert [e.t for e in monitor.events if isinstance(e, Breach)] == [1_000.0]
    assert [(r.since, r.t) for r in restores] == [(1_008.0, 1_018.0)]


def test_an_empty_window_is_no_data_not_a_pass() -> None:
    clock = FakeClock(1_000.0)
    monitor = Monitor([ERRORS_UNDER_5], settings(hold_s=5.0, window_s=1.0), clock=clock)
    monitor.extend(traffic(999.0, 1_000.0, ok=False))
    monitor.extend(traffic(1_000.0, 1_003.0) + traffic(1_006.0, 1_030.0))  # silence from 1003 to 1006
    monitor.poll()
    run(monitor, clock, 1_030.0)
    restore = next(e for e in monitor.events if isinstance(e, Restore))
    assert restore.since == 1_007.0  # the hold that began at 1001 was broken by the silent windows
    states = monitor.states()
    assert states[0].ok_since == 1_007.0


def test_too_few_requests_never_breach() -> None:
    clock = FakeClock(1_000.0)
    monitor = Monitor([ERRORS_UNDER_5], settings(min_requests=5), clock=clock)
    monitor.extend([rec(999.0, ok=False), rec(999.5, ok=False)])
    monitor.poll()
    assert monitor.events == []
    assert monitor.holding_for() == 0.0


def test_latency_breach_is_judged_on_the_window_p95() -> None:
    clock = FakeClock(1_000.0)
    monitor = Monitor([ERRORS_UNDER_5, P95_UNDER_200], settings(), clock=clock)
    monitor.extend(traffic(995.0, 1_000.0, latency_ms=50.0))
    monitor.extend(traffic(1_000.0, 1_005.0, latency_ms=900.0))
    monitor.poll()
    run(monitor, clock, 1_005.0)
    (breach,) = monitor.events
    assert isinstance(breach, Breach)
    assert breach.check is P95_UNDER_200
    assert breach.value == 900.0
    assert breach.t == 1_001.0  # 10 of 50 requests slow: more than 5 %, so the 95th percentile is slow


def test_holding_for_is_how_long_every_check_has_held() -> None:
    clock = FakeClock(1_000.0)
    monitor = Monitor([ERRORS_UNDER_5, P95_UNDER_200], settings(), clock=clock)
    monitor.extend(traffic(990.0, 1_020.0))
    monitor.poll()
    run(monitor, clock, 1_012.0)
    assert monitor.holding_for() == 12.0
    assert not monitor.breached


def test_records_may_arrive_from_another_thread() -> None:
    import threading

    clock = FakeClock(1_000.0)
    monitor = Monitor([ERRORS_UNDER_5], settings(), clock=clock)
    batch = traffic(995.0, 1_000.0, per_s=200)
    threads = [
        threading.Thread(target=lambda part=part: [monitor.record(r) for r in part])
        for part in (batch[::2], batch[1::2])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert monitor.tick(1_000.0).requests == 1_000
