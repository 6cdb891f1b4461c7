"""pool-exhaustion against a real PostgreSQL 15: slots taken, errors seen by a real client, all given back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import psutil
import pytest

from drillbook.faults.pool_exhaustion import PoolExhaustion
from drillbook.faults.target import FaultTarget, Workload
from drillbook.platform.local.datastores import PostgresConfig, PostgresInstance

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> PostgresInstance:
    config = PostgresConfig(max_connections=12, superuser=True, database="azora")
    with PostgresInstance(config, base_dir=tmp_path_factory.mktemp("pg")) as instance:
        yield instance  # type: ignore[misc]


def _target(tmp_path: Path, postgres: PostgresInstance) -> FaultTarget:
    return FaultTarget(
        workdir=tmp_path,
        kube_env={},
        app=Workload("production", "api-gateway"),
        postgres_dsn=postgres.dsn,
        postgres_admin_dsn=postgres.dsn,
    )


async def _connect_error(dsn: str) -> str | None:
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (asyncpg.PostgresError, OSError) as exc:
        return str(exc)
    await conn.close()
    return None


def test_the_hog_takes_every_free_slot_and_the_revert_gives_them_back(
    tmp_path: Path, postgres: PostgresInstance
) -> None:
    fault = PoolExhaustion(_target(tmp_path, postgres), {"mode": "idle", "role": "app"})
    with fault:
        assert fault.held >= 5
        time.sleep(1.0)  # the leak retakes the slots the dropped connections gave back
        error = asyncio.run(_connect_error(postgres.dsn))
        assert error is not None
        assert "too many clients" in error
    assert asyncio.run(_connect_error(postgres.dsn)) is None


def test_a_leaking_worker_role_leaves_the_superuser_slots_to_the_operator(
    tmp_path: Path, postgres: PostgresInstance
) -> None:
    worker_dsn = postgres.dsn.replace("app:app@", "leaky_worker:drillbook-leaky-worker@")
    with PoolExhaustion(_target(tmp_path, postgres), {"mode": "idle", "role": "leaky_worker"}) as fault:
        time.sleep(1.0)  # the leak retakes the slots the dropped connections gave back
        assert fault.held >= 5
        error = asyncio.run(_connect_error(worker_dsn))
        assert error is not None
        assert "reserved" in error or "too many clients" in error
        assert asyncio.run(_connect_error(postgres.dsn)) is None, "the superuser operator can still get in"
    assert asyncio.run(_connect_error(worker_dsn)) is None


def test_the_revert_runs_when_the_code_inside_raises_and_no_hog_survives(
    tmp_path: Path, postgres: PostgresInstance
) -> None:
    fault = PoolExhaustion(_target(tmp_path, postgres), {"mode": "active", "role": "app"})
    with pytest.raises(RuntimeError, match="operator typo"), fault:
        raise RuntimeError("operator typo")
    pid = int(next((tmp_path / "faults").glob("*.pid")).read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert asyncio.run(_connect_error(postgres.dsn)) is None


def test_the_revert_works_from_the_journaled_record_alone(tmp_path: Path, postgres: PostgresInstance) -> None:
    fault = PoolExhaustion(_target(tmp_path, postgres), {"role": "app"})
    fault.inject()
    record = fault._record  # the record the drill journaled before the fault was applied
    assert record is not None
    PoolExhaustion.undo_from_spec(record.spec)
    assert asyncio.run(_connect_error(postgres.dsn)) is None
    fault.revert()


def test_terminating_the_jobs_backends_gives_the_slots_back_and_it_retakes_them_at_its_finite_rate(
    tmp_path: Path, postgres: PostgresInstance
) -> None:
    # As a non-superuser role, so the superuser's reserved slots stay out of the count.
    worker_dsn = postgres.dsn.replace("app:app@", "leaky_worker:drillbook-leaky-worker@")
    params = {"role": "leaky_worker", "eager_s": "0", "refill_per_s": "0.5"}
    with PoolExhaustion(_target(tmp_path, postgres), params) as fault:
        time.sleep(2.5)  # the slot the fault's own admin connection gave back is retaken within 2 s
        assert asyncio.run(_connect_error(worker_dsn)) is not None, "the job holds every unreserved slot"
        freed = asyncio.run(_terminate_job(postgres.dsn, fault._marker))
        assert freed >= 5
        time.sleep(0.5)  # at 0.5/s the job has retaken at most one of them
        assert asyncio.run(_connect_error(worker_dsn)) is None, "the operator's kill bought a client a slot"


async def _terminate_job(dsn: str, marker: str) -> int:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", marker
        )
    finally:
        await conn.close()
    return len(rows)
