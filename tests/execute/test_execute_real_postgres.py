"""A seed runbook's database steps, run verbatim with the real pg_isready and psql against a real PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillbook.execute import Bindings, StepExecutor
from drillbook.journal import Decision
from drillbook.platform.local.datastores.postgres import PostgresConfig, PostgresInstance
from drillbook.runbook import parse_runbook

pytestmark = pytest.mark.live

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


class PostgresView:
    """The sandbox as the executor sees it: one PostgreSQL Service on its own loopback address, port 5432."""

    def __init__(self, pg: PostgresInstance) -> None:
        self.pg = pg

    def service_address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        return self.pg.host, self.pg.port

    def pod_name(self, namespace: str, selector: str) -> str:
        return "postgres-0"

    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.pg.config.password}

    def tool_dirs(self) -> list[Path]:
        return [Path("/usr/lib/postgresql/15/bin"), *(Path(p) for p in os.environ["PATH"].split(os.pathsep) if p)]


@pytest.fixture
def zephyr_postgres(tmp_path: Path) -> Iterator[PostgresInstance]:
    """zephyr's database on 127.78.x.y:5432: its own loopback address, so the runbook's literal port is right.

    The runbook's ``<DB_USER>`` is the operator's superuser (``postgres``, scenario.yaml's admin), as in the sandbox.
    """
    host = f"127.78.{os.getpid() % 250 + 1}.{time.monotonic_ns() % 250 + 1}"
    config = PostgresConfig(user="postgres", password="zephyr-admin-pass", database="zephyr", extensions=())
    with PostgresInstance(config, base_dir=tmp_path / "pg", host=host, port=5432) as pg:
        yield pg


def test_zephyrs_database_steps_run_verbatim_against_the_sandbox_database(
    tmp_path: Path, zephyr_postgres: PostgresInstance
) -> None:
    incident = parse_runbook(SCENARIOS / "zephyr-voting" / "runbook.md").incident("Incident 2")
    bindings = Bindings.load(SCENARIOS / "zephyr-voting" / "bindings.yaml")
    executor = StepExecutor(view=PostgresView(zephyr_postgres), workdir=tmp_path / "drill", bindings=bindings)
    host = zephyr_postgres.host

    [ready] = executor.run_step(incident.steps[0])
    assert ready.as_run == f"pg_isready -h {host} -p 5432 -U postgres"
    assert (ready.decision, ready.exit_code) == (Decision.RUNS, 0)
    assert "accepting connections" in ready.output

    session, count, slow = executor.run_step(incident.steps[2])
    assert session.as_written == "psql -h <DB_HOST> -U <DB_USER> -d zephyr"
    assert (session.exit_code, count.exit_code, slow.exit_code) == (0, 0, 0)
    assert count.as_written.startswith("SELECT count(*) FROM pg_stat_activity")
    assert count.as_run.startswith(f"psql -h {host} -U postgres -d zephyr -v ON_ERROR_STOP=1 -c ")
    assert "(1 row)" in count.output
