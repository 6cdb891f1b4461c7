"""The SLO monitor fed by real traffic notices an injected error burst and its recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from traffic_service import TinyService, running_service

from drillbook.slo import Breach, Check, Metric, Monitor, MonitorEvent, MonitorSettings, Restore
from drillbook.traffic import Endpoint, LoadGenerator, TrafficProfile

ERRORS_UNDER_5 = Check(metric=Metric.ERROR_RATE, op="<", threshold=0.05, text="error rate < 5%")
PROFILE = TrafficProfile(endpoints=(Endpoint("ok", "GET", "/ok", 1),), per_user_rps=10.0)


@pytest.fixture(scope="module")
def service() -> Iterator[TinyService]:
    with running_service() as tiny:
        yield tiny


@pytest.fixture
def healthy_service(service: TinyService) -> Iterator[TinyService]:
    service.failing = False
    yield service
    service.failing = False


def poll_until(monitor: Monitor, events: list[MonitorEvent], kind: type, timeout: float) -> MonitorEvent | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        monitor.poll()
        found = [e for e in events if isinstance(e, kind)]
        if found:
            return found[0]
        time.sleep(0.1)
    return None


@pytest.mark.slow
def test_monitor_on_real_traffic_detects_an_error_burst_and_its_end(healthy_service: TinyService) -> None:
    events: list[MonitorEvent] = []
    settings = MonitorSettings(window_s=1.0, tick_s=0.25, hold_s=1.0, min_requests=3, lag_s=0.3)
    monitor = Monitor([ERRORS_UNDER_5], settings, on_event=events.append)
    with LoadGenerator(healthy_service.url, run_time_s=20, users=4, profile=PROFILE, on_record=monitor.record):
        deadline = time.monotonic() + 10
        while monitor.holding_for() < 1.5 and time.monotonic() < deadline:
            monitor.poll()
            time.sleep(0.1)
        assert monitor.holding_for() >= 1.5, "the baseline never held"
        assert events == []

        fault_at = time.time()
        healthy_service.failing = True
        breach = poll_until(monitor, events, Breach, timeout=5)
        healthy_service.failing = False
        fixed_at = time.time()
        restore = poll_until(monitor, events, Restore, timeout=8)

    assert isinstance(breach, Breach), "the error burst was never seen"
    assert breach.t >= fault_at - settings.lag_s
    assert breach.value is not None
    assert breach.value > 0.05
    assert isinstance(restore, Restore), "recovery was never seen"
    assert restore.since >= fixed_at - settings.window_s
    assert restore.held_s >= settings.hold_s
