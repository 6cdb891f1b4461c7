"""The local sandbox puts the fault proxy between the app and every datastore: a real zephyr-voting sandbox,
real traffic, and the network faults breach the SLOs through the proxy and recover after their revert. The
runbook's own ``pg_isready -h <DB_HOST>`` is cut off by a partition as the app is."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tests.platform.watched_sandbox import Watched

from drillbook.faults.base import fault_class
from drillbook.platform.executor_view import KubeSandboxView
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local.sandbox import provision_local
from drillbook.slo.monitor import Breach, Restore

pytestmark = pytest.mark.slow

ZEPHYR = Path(__file__).resolve().parents[3] / "scenarios" / "zephyr-voting"
PG_ISREADY = "/usr/lib/postgresql/15/bin/pg_isready"


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    sandbox = provision_local(ZEPHYR, tmp_path_factory.mktemp("proxied"))
    try:
        state = Watched(sandbox)
        state.settle()
        yield state
        state.traffic.stop()
    finally:
        sandbox.close()


def pg_isready(sandbox: KubeSandbox) -> int:
    """The runbook's Incident 2 step 1, ``pg_isready -h <DB_HOST> -p 5432``, as the executor resolves it."""
    host, port = KubeSandboxView(sandbox).service_address("default", "postgres", 5432)
    done = subprocess.run([PG_ISREADY, "-h", host, "-p", str(port), "-t", "3"], capture_output=True, check=False)
    return done.returncode


def test_the_sandbox_names_the_proxy_in_front_of_each_datastore_to_faults(watched: Watched) -> None:
    target = watched.sandbox.fault_target(watched.traffic)
    assert target.toxiproxy_url is not None
    assert dict(target.proxies) == {"postgres": "postgres", "redis": "redis"}
    # The faults' own helpers reach the datastore around the proxy, through the -direct Service.
    direct = watched.sandbox.access.address("default", "postgres-direct", 5432)
    assert target.postgres_dsn is not None
    assert f"@{direct[0]}:{direct[1]}/" in target.postgres_dsn
    endpoints = watched.sandbox.kubectl("get", "endpoints", "postgres", "-o", "jsonpath={.subsets[0].ports[0].port}")
    assert endpoints.strip() != "5432", "the postgres Service routes to the proxy's listener, not the pod"


def test_database_latency_through_the_proxy_breaches_p95_and_recovers_after_the_revert(watched: Watched) -> None:
    target = watched.sandbox.fault_target(watched.traffic)
    with fault_class("latency")(target, {"latency_ms": "1500"}):
        # 1.5 s per reply: requests are slow, and those that wait past the app's 1 s pool timeout fail.
        assert watched.sees(Breach, 30.0), "1.5 s on every PostgreSQL reply never breached the SLOs"
    assert watched.sees(Restore, 60.0), "the SLOs did not come back after the latency toxic was removed"


def test_a_partition_cuts_off_the_app_and_the_runbooks_own_check_and_both_recover(watched: Watched) -> None:
    assert pg_isready(watched.sandbox) == 0, "before the partition the runbook's check reaches PostgreSQL"
    target = watched.sandbox.fault_target(watched.traffic)
    with fault_class("partition")(target, {}):
        assert watched.sees(Breach, 30.0), "a partitioned PostgreSQL never breached the SLOs"
        assert "error rate < 1%" in watched.breached()
        assert pg_isready(watched.sandbox) != 0, "the runbook's pg_isready -h <DB_HOST> must fail as the app does"
    assert watched.sees(Restore, 60.0), "the SLOs did not come back after the proxy was enabled again"
    assert pg_isready(watched.sandbox) == 0


def test_the_proxy_does_not_outlive_its_sandbox(tmp_path: Path) -> None:
    sandbox = provision_local(ZEPHYR, tmp_path)
    url = sandbox.fault_proxy_url
    assert url is not None
    port = int(url.rsplit(":", 1)[1])
    owners = [c.pid for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "LISTEN"]
    assert owners
    assert all(psutil.Process(pid).ppid() == os.getpid() for pid in owners)
    sandbox.close()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in owners)
