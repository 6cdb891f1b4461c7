"""On the docker platform too, the fault proxy sits between the app and the datastore containers: real traffic on
zephyr-voting, database latency and a partition through the proxy breach the SLOs and recover after the revert,
and the runbook's own ``pg_isready -h <DB_HOST>`` is cut off by the partition as the app is."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.platform.watched_sandbox import Watched

from drillbook.faults.base import fault_class
from drillbook.platform.docker import EngineHandle
from drillbook.platform.docker.provider import provision_docker
from drillbook.platform.executor_view import KubeSandboxView
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.slo.monitor import Breach, Restore

pytestmark = [pytest.mark.docker, pytest.mark.live]

ZEPHYR = Path(__file__).resolve().parents[3] / "scenarios" / "zephyr-voting"
PG_ISREADY = "/usr/lib/postgresql/15/bin/pg_isready"


@pytest.fixture(scope="module")
def watched(docker_engine: EngineHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    sandbox = provision_docker(ZEPHYR, tmp_path_factory.mktemp("docker-proxied"))
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


def test_the_faults_helpers_reach_the_container_around_the_proxy(watched: Watched) -> None:
    target = watched.sandbox.fault_target(watched.traffic)
    direct = watched.sandbox.access.address("default", "postgres-direct", 5432)
    assert target.postgres_dsn is not None
    assert f"@{direct[0]}:{direct[1]}/" in target.postgres_dsn
    assert pg_isready(watched.sandbox) == 0


def test_database_latency_through_the_proxy_breaches_p95_and_recovers_after_the_revert(watched: Watched) -> None:
    target = watched.sandbox.fault_target(watched.traffic)
    with fault_class("latency")(target, {"latency_ms": "1500"}):
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
