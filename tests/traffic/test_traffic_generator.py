"""The load generator against a real local service: records, user changes, bounded runs, orphan safety."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from traffic_service import TinyService, running_service

from drillbook.errors import TrafficError, UsageError
from drillbook.slo import RequestRecord
from drillbook.traffic import Endpoint, LoadGenerator, NonLoopbackHost, TrafficProfile, require_loopback

MIXED = TrafficProfile(
    endpoints=(
        Endpoint("ok", "GET", "/ok", 2),
        Endpoint("slow", "GET", "/slow", 1),
        Endpoint("missing", "GET", "/missing", 1),
        Endpoint("create", "POST", "/items", 1, {"x": 1}),
    ),
    per_user_rps=10.0,
)
STEADY = TrafficProfile(endpoints=(Endpoint("ok", "GET", "/ok", 1),), per_user_rps=10.0)


@pytest.fixture(scope="module")
def service() -> Iterator[TinyService]:
    with running_service() as tiny:
        yield tiny


@pytest.fixture
def healthy_service(service: TinyService) -> Iterator[TinyService]:
    service.failing = False
    yield service
    service.failing = False


def eventually(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@dataclass
class FinishedRun:
    records: list[RequestRecord]
    exit_code: int | None
    malformed: int
    seconds: float


@pytest.fixture(scope="module")
def finished_run(service: TinyService) -> FinishedRun:
    """One short run, left to end by itself, shared by the tests that only read its records."""
    started = time.monotonic()
    with LoadGenerator(service.url, run_time_s=3, users=2, profile=MIXED) as generator:
        records = list(generator.records(timeout=15))
        code = generator.wait(timeout=15)
        return FinishedRun(records, code, generator.malformed, time.monotonic() - started)


@pytest.mark.slow
def test_every_endpoint_in_the_profile_produces_records(finished_run: FinishedRun) -> None:
    assert {r.name for r in finished_run.records} == {"ok", "slow", "missing", "create"}
    assert finished_run.malformed == 0


@pytest.mark.slow
def test_records_carry_the_real_status_and_outcome(finished_run: FinishedRun) -> None:
    by_name = {r.name: r for r in finished_run.records}
    assert (by_name["ok"].method, by_name["ok"].status, by_name["ok"].ok) == ("GET", 200, True)
    assert (by_name["create"].method, by_name["create"].status, by_name["create"].ok) == ("POST", 201, True)
    missing = by_name["missing"]
    assert (missing.status, missing.ok) == (404, False)
    assert missing.error is not None
    assert "404" in missing.error


@pytest.mark.slow
def test_record_latency_reflects_the_service_delay(finished_run: FinishedRun) -> None:
    slow = [r.latency_ms for r in finished_run.records if r.name == "slow"]
    assert slow
    assert min(slow) >= 50.0


@pytest.mark.slow
def test_record_timestamps_are_wall_clock_epoch_seconds(finished_run: FinishedRun) -> None:
    now = time.time()
    assert all(now - 60 < r.ts <= now for r in finished_run.records)


@pytest.mark.slow
def test_run_ends_by_itself_at_its_run_time(finished_run: FinishedRun) -> None:
    assert finished_run.exit_code == 0
    assert finished_run.seconds >= 3.0


@pytest.mark.slow
def test_set_users_changes_the_request_rate_without_restart(healthy_service: TinyService) -> None:
    with LoadGenerator(healthy_service.url, run_time_s=20, users=1, profile=STEADY) as generator:
        assert eventually(lambda: generator.received > 0, timeout=10)
        pid = generator.pid
        time.sleep(2.0)
        before = generator.drain()
        generator.set_users(6)
        time.sleep(1.0)  # let the new users spawn
        generator.drain()
        time.sleep(2.0)
        after = generator.drain()
        assert generator.pid == pid
        assert generator.running()
    assert len(after) > 3 * len(before), (len(before), len(after))


@pytest.mark.slow
@pytest.mark.parametrize("per_connection", [4, 1000])
def test_users_reconnect_after_their_requests_per_connection(healthy_service: TinyService, per_connection: int) -> None:
    # A Service balances connections: a user pinned to its first connection never reaches replicas added later.
    profile = TrafficProfile(STEADY.endpoints, per_user_rps=20.0, requests_per_connection=per_connection)
    healthy_service.peers.clear()
    with LoadGenerator(healthy_service.url, run_time_s=20, users=1, profile=profile) as generator:
        assert eventually(lambda: generator.received >= 24, timeout=15), generator.received
        answered = generator.received
    connections = len(healthy_service.peers)
    if per_connection == 4:
        assert connections >= answered // 4 - 1, (answered, connections)
    else:
        assert connections == 1, (answered, connections)


@pytest.mark.slow
@pytest.mark.parametrize("users", [1, 0], ids=["sending", "idle"])
def test_killed_parent_takes_the_locust_process_with_it(
    healthy_service: TinyService, tmp_path: Path, users: int
) -> None:
    # An idle run writes no records, so only the control pipe and the parent watch can notice the death.
    script = (
        "import sys, time\n"
        "from drillbook.traffic import LoadGenerator, TrafficProfile, Endpoint\n"
        "profile = TrafficProfile(endpoints=(Endpoint('ok', 'GET', '/ok', 1),), per_user_rps=2.0)\n"
        f"g = LoadGenerator({healthy_service.url!r}, run_time_s=60, users={users}, profile=profile,\n"
        "                  workdir=sys.argv[1])\n"
        "g.start()\n"
        "print(g.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        if users:
            hits = healthy_service.hits
            assert eventually(lambda: healthy_service.hits > hits, timeout=10)
        else:
            assert eventually((tmp_path / "locust.log").exists, timeout=10)
            time.sleep(1.5)  # let locust finish loading the locustfile
        parent.kill()
        parent.wait(timeout=10)
        assert eventually(lambda: gone(child), timeout=10), "locust outlived its parent"
    finally:
        parent.kill()
        parent.wait(timeout=10)
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child, signal.SIGKILL)


@pytest.mark.slow
def test_leaving_the_context_reaps_the_process_group(healthy_service: TinyService) -> None:
    with LoadGenerator(healthy_service.url, run_time_s=30, users=1, profile=STEADY) as generator:
        assert eventually(lambda: generator.received > 0, timeout=10)
        pid = generator.pid
    assert pid is not None
    assert gone(pid)
    assert not generator.running()


@pytest.mark.slow
def test_a_refused_connection_is_an_error_record_with_status_zero(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with LoadGenerator(f"http://127.0.0.1:{closed_port}", run_time_s=2, users=1, profile=STEADY) as generator:
        record = next(generator.records(timeout=10))
    assert (record.status, record.ok) == (0, False)
    assert record.error


@pytest.mark.slow
def test_a_dead_locust_is_reported_with_its_output(healthy_service: TinyService) -> None:
    with LoadGenerator(healthy_service.url, run_time_s=30, users=1, profile=STEADY) as generator:
        assert eventually(lambda: generator.received > 0, timeout=10)
        generator.ensure_running()
        assert generator.pid is not None
        os.killpg(generator.pid, signal.SIGKILL)
        assert eventually(lambda: not generator.running(), timeout=10)
        with pytest.raises(TrafficError, match="exited with code -9"):
            generator.ensure_running()


@pytest.mark.live
def test_importing_the_traffic_package_does_not_import_locust() -> None:
    code = (
        "import drillbook.traffic, drillbook.slo, sys; "
        "assert 'locust' not in sys.modules and 'gevent' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    "host", ["http://example.com", "http://10.0.0.1:80", "http://127.0.0.1.nip.io", "ftp://127.0.0.1", "127.0.0.1:80"]
)
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(NonLoopbackHost, match="loopback"):
        LoadGenerator(host, run_time_s=1)


@pytest.mark.parametrize("host", ["http://127.0.0.1:8080", "http://127.3.4.5", "http://localhost:1", "https://[::1]:9"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert require_loopback(host) == host


@pytest.mark.parametrize("run_time", [0, -1, float("inf")])
def test_a_bounded_run_time_is_mandatory(run_time: float) -> None:
    with pytest.raises(UsageError, match="run time"):
        LoadGenerator("http://127.0.0.1:1", run_time_s=run_time)


def test_changing_users_before_start_is_an_error() -> None:
    generator = LoadGenerator("http://127.0.0.1:1", run_time_s=1)
    with pytest.raises(Exception, match="start it first"):
        generator.set_users(3)
