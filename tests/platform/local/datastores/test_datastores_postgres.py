"""PostgresInstance: real servers, real clients."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import asyncpg
import psutil
import pytest

from drillbook.errors import DatastoreError
from drillbook.platform.local.datastores import PostgresConfig, PostgresInstance
from drillbook.platform.local.datastores._host import runtime_root
from drillbook.platform.local.datastores.homes import collect_orphans
from drillbook.platform.local.datastores.template import ensure_template

pytestmark = pytest.mark.live


def psql(instance: PostgresInstance, sql: str) -> str:
    result = subprocess.run(
        ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env={"PATH": "/usr/bin:/bin", **instance.env()},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def alive(pids: list[int]) -> list[int]:
    left = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.NoSuchProcess:
            pass
    return left


def test_psql_connects_with_the_instance_env(shared_pg: PostgresInstance) -> None:
    assert psql(shared_pg, "SELECT current_user || '@' || current_database()") == "app@app"


def test_asyncpg_connects_with_the_dsn(shared_pg: PostgresInstance) -> None:
    async def query() -> int:
        conn = await asyncpg.connect(shared_pg.dsn)
        try:
            return int(await conn.fetchval("SELECT 40 + 2"))
        finally:
            await conn.close()

    assert asyncio.run(query()) == 42


def test_dsn_and_env_describe_the_same_server(shared_pg: PostgresInstance) -> None:
    env = shared_pg.env()
    assert shared_pg.dsn == f"postgresql://app:app@{env['PGHOST']}:{env['PGPORT']}/app"
    assert shared_pg.port == int(env["PGPORT"]) > 0


def test_pg_stat_statements_records_queries(shared_pg: PostgresInstance) -> None:
    psql(shared_pg, "SELECT md5('marker') AS digest")
    count = psql(shared_pg, "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%md5($1)%'")
    assert int(count) >= 1


def test_password_is_checked_over_tcp(shared_pg: PostgresInstance) -> None:
    env = {"PATH": "/usr/bin:/bin", **shared_pg.env(), "PGPASSWORD": "wrong"}
    result = subprocess.run(["psql", "-X", "-c", "SELECT 1"], env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "password authentication failed" in result.stderr


def test_max_connections_is_enforced(tmp_path: Path) -> None:
    async def open_until_refused(dsn: str) -> tuple[int, str]:
        conns: list[asyncpg.Connection] = []
        try:
            for _ in range(10):
                try:
                    conns.append(await asyncpg.connect(dsn))
                except asyncpg.PostgresError as exc:
                    return len(conns), str(exc)
            return len(conns), ""
        finally:
            for conn in conns:
                await conn.close()

    with PostgresInstance(PostgresConfig(max_connections=3), base_dir=tmp_path) as pg:
        opened, error = asyncio.run(open_until_refused(pg.dsn))
    assert opened == 3
    assert "sorry, too many clients already" in error


def test_settings_reach_the_server(tmp_path: Path) -> None:
    config = PostgresConfig(user="orders", password="s3cret", database="shop", settings={"work_mem": "7MB"})
    with PostgresInstance(config, base_dir=tmp_path) as pg:
        assert psql(pg, "SHOW work_mem") == "7MB"
        assert psql(pg, "SELECT current_user || '@' || current_database()") == "orders@shop"


def test_two_instances_run_at_once(tmp_path: Path) -> None:
    with PostgresInstance(base_dir=tmp_path / "a") as a, PostgresInstance(base_dir=tmp_path / "b") as b:
        assert a.port != b.port
        psql(a, "CREATE TABLE only_in_a (id int)")
        assert psql(b, "SELECT to_regclass('only_in_a') IS NULL") == "t"


def test_stop_reaps_every_process(tmp_path: Path) -> None:
    pg = PostgresInstance(base_dir=tmp_path).start()
    try:
        assert pg.pid is not None
        pids = [pg.pid, *(child.pid for child in psutil.Process(pg.pid).children(recursive=True))]
        assert len(pids) > 3  # postmaster, checkpointer, walwriter, autovacuum ...
    finally:
        pg.close()
    assert pg.pid is None
    assert alive(pids) == []


def test_kill_crashes_and_start_recovers_the_data(tmp_path: Path) -> None:
    with PostgresInstance(base_dir=tmp_path) as pg:
        psql(pg, "CREATE TABLE t (v int); INSERT INTO t VALUES (7)")
        assert pg.pid is not None
        pids = [pg.pid, *(child.pid for child in psutil.Process(pg.pid).children(recursive=True))]
        pg.kill()
        assert alive(pids) == []
        with pytest.raises(subprocess.CalledProcessError):
            psql(pg, "SELECT 1")
        pg.start()
        assert psql(pg, "SELECT v FROM t") == "7"


@pytest.mark.slow
def test_data_lives_in_base_dir_when_postgres_can_reach_it(public_dir: Path) -> None:
    with PostgresInstance(base_dir=public_dir) as pg:
        assert (public_dir / "data" / "PG_VERSION").is_file()
        assert not (public_dir / "data").is_symlink()
        assert pg.socket_dir == public_dir / "run"


def test_a_bad_setting_fails_with_the_log_and_a_hint(tmp_path: Path) -> None:
    config = PostgresConfig(settings={"shared_buffers": "lots"})
    with pytest.raises(DatastoreError) as info, PostgresInstance(config, base_dir=tmp_path):
        pass
    message = str(info.value)
    assert "shared_buffers" in message
    assert "Hint:" in message


@pytest.mark.slow
def test_concurrent_template_builds_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILLBOOK_CACHE_DIR", str(tmp_path / "cache"))
    results: list[Path] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            results.append(ensure_template())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results[0] == results[1]
    assert (results[0] / "PG_VERSION").read_text().strip() == "15"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [results[0].name]


@pytest.mark.slow
def test_close_removes_the_private_data_home_and_its_link(tmp_path: Path) -> None:
    with PostgresInstance(base_dir=tmp_path) as pg:
        home = (tmp_path / "data").resolve().parent
        assert (tmp_path / "data").is_symlink()
    assert pg.pid is None
    assert not home.exists()
    assert not (tmp_path / "data").is_symlink()


@pytest.mark.slow
def test_orphaned_data_homes_are_collected_once_their_link_is_gone(tmp_path: Path) -> None:
    pg = PostgresInstance(base_dir=tmp_path / "pod").start()
    home = (tmp_path / "pod" / "data").resolve().parent
    pg.stop()
    collect_orphans(min_age=0)
    assert home.exists()  # still linked: a restarted pod would reuse it
    (tmp_path / "pod" / "data").unlink()
    collect_orphans(min_age=0)
    assert not home.exists()


def test_socket_dirs_of_dead_servers_are_collected() -> None:
    dead = Path(tempfile.mkdtemp(prefix="pgsock-", dir=runtime_root()))
    live = Path(tempfile.mkdtemp(prefix="pgsock-", dir=runtime_root()))
    try:
        gone = "999999999\n"  # above pid_max: never running
        (dead / "creator").write_text(gone)
        (dead / ".s.PGSQL.5432.lock").write_text(gone)
        (live / "creator").write_text(gone)
        (live / ".s.PGSQL.5432.lock").write_text(f"{os.getpid()}\n")
        collect_orphans(min_age=0)
        assert not dead.exists()
        assert live.exists()
    finally:
        shutil.rmtree(dead, ignore_errors=True)
        shutil.rmtree(live, ignore_errors=True)
