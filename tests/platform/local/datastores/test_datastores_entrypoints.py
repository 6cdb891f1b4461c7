"""The container-image entrypoints, run as plain subprocesses the way the local kubelet runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis
import yaml

from drillbook.errors import UsageError
from drillbook.platform.local.datastores import IMAGES_FILE, free_port
from drillbook.platform.local.datastores.postgres_entrypoint import parse_settings

pytestmark = pytest.mark.live


def spawn(module: str, cwd: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", f"drillbook.platform.local.datastores.{module}", *args],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_line(proc: subprocess.Popen[str], marker: str) -> list[str]:
    seen: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"process exited with {proc.wait()} before printing {marker!r}:\n{''.join(seen)}")


@pytest.fixture
def reaper() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def psql(host: str, port: int, sql: str) -> str:
    env = {"PATH": os.environ["PATH"], "PGPASSWORD": "pw"}
    cmd = ["psql", "-X", "-At", "-h", host, "-p", str(port), "-U", "shop", "-d", "orders", "-c", sql]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_images_file_maps_postgres_redis_and_toxiproxy_tags() -> None:
    images = yaml.safe_load(IMAGES_FILE.read_text())["images"]
    tags = {"postgres:15", "postgres:15-alpine", "postgres:15.4", "redis:7", "redis:7-alpine", "redis:7.2"}
    assert tags <= set(images)
    assert images["ghcr.io/shopify/toxiproxy:2.9.0"]["cmd"] == ["-host=0.0.0.0"]
    assert images["redis:7"]["entrypoint"] == ["python", "-m", "drillbook.platform.local.datastores.redis_entrypoint"]
    assert images["postgres:15"]["entrypoint"][-1] == "drillbook.platform.local.datastores.postgres_entrypoint"


def test_pg_settings_parse_and_reject_garbage() -> None:
    assert parse_settings("work_mem=8MB; log_min_duration_statement = 100\n") == {
        "work_mem": "8MB",
        "log_min_duration_statement": "100",
    }
    with pytest.raises(UsageError, match="name=value"):
        parse_settings("work_mem")


@pytest.mark.slow
def test_postgres_entrypoint_serves_pod_ip_and_keeps_data_across_restarts(
    tmp_path: Path, reaper: list[subprocess.Popen[str]]
) -> None:
    host, port = "127.0.0.7", free_port("127.0.0.7")
    env = {
        "POD_IP": host,
        "PGPORT": str(port),
        "POSTGRES_USER": "shop",
        "POSTGRES_PASSWORD": "pw",
        "POSTGRES_DB": "orders",
        "POSTGRES_MAX_CONNECTIONS": "20",
        "DRILLBOOK_PG_SETTINGS": "work_mem=5MB",
    }
    first = spawn("postgres_entrypoint", tmp_path, env, "postgres", "-c", "statement_timeout=4000")
    reaper.append(first)
    wait_for_line(first, "PostgreSQL ready")
    assert psql(host, port, "SHOW max_connections") == "20"
    assert psql(host, port, "SHOW work_mem") == "5MB"
    assert psql(host, port, "SHOW statement_timeout") == "4s"
    psql(host, port, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")
    # A session that would keep a "smart" shutdown waiting: SIGTERM must end it (fast shutdown).
    sleeper = subprocess.Popen(
        ["psql", "-X", "-h", host, "-p", str(port), "-U", "shop", "-d", "orders", "-c", "SELECT pg_sleep(60)"],
        env={"PATH": os.environ["PATH"], "PGPASSWORD": "pw"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=20) == 0
        assert sleeper.wait(timeout=20) != 0
    finally:
        sleeper.kill()
        sleeper.wait()

    second = spawn("postgres_entrypoint", tmp_path, env)
    reaper.append(second)
    wait_for_line(second, "PostgreSQL ready")
    assert psql(host, port, "SELECT v FROM kept") == "still here"
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0


@pytest.mark.slow
def test_killing_the_entrypoint_group_takes_postgres_down(tmp_path: Path, reaper: list[subprocess.Popen[str]]) -> None:
    host, port = "127.0.0.9", free_port("127.0.0.9")
    env = {"POD_IP": host, "PGPORT": str(port), "POSTGRES_PASSWORD": "pw"}
    proc = spawn("postgres_entrypoint", tmp_path, env)
    reaper.append(proc)
    wait_for_line(proc, "PostgreSQL ready")
    postmaster = int((tmp_path / "pgdata" / "postmaster.pid").read_text().split()[0])
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(postmaster) and psutil.Process(postmaster).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the postmaster outlived its entrypoint"
        time.sleep(0.05)


def test_postgres_entrypoint_with_trust_needs_no_password(tmp_path: Path, reaper: list[subprocess.Popen[str]]) -> None:
    host, port = "127.0.0.12", free_port("127.0.0.12")
    env = {"POD_IP": host, "PGPORT": str(port), "POSTGRES_HOST_AUTH_METHOD": "trust"}
    proc = spawn("postgres_entrypoint", tmp_path, env)
    reaper.append(proc)
    wait_for_line(proc, "PostgreSQL ready")
    cmd = ["psql", "-X", "-At", "-h", host, "-p", str(port), "-U", "postgres", "-c", "SELECT current_database()"]
    out = subprocess.run(cmd, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "postgres"


def test_postgres_entrypoint_without_password_fails_like_the_image(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "drillbook.platform.local.datastores.postgres_entrypoint"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "POSTGRES_PASSWORD" in result.stderr


def test_redis_entrypoint_binds_pod_ip_with_memory_policy(tmp_path: Path, reaper: list[subprocess.Popen[str]]) -> None:
    host, port = "127.0.0.8", free_port("127.0.0.8")
    env = {"POD_IP": host, "REDIS_PORT": str(port), "REDIS_MAXMEMORY": "16mb", "REDIS_MAXMEMORY_POLICY": "allkeys-lru"}
    proc = spawn("redis_entrypoint", tmp_path, env)
    reaper.append(proc)
    wait_for_line(proc, "Ready to accept connections")
    client = redis.Redis(host=host, port=port)
    try:
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        assert client.config_get("maxmemory") == {"maxmemory": str(16 * 1024 * 1024)}
    finally:
        client.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


@pytest.mark.slow
def test_a_non_root_app_role_owns_the_database_and_leaves_the_reserved_slots_to_the_superuser(
    tmp_path: Path, reaper: list[subprocess.Popen[str]]
) -> None:
    host, port = "127.0.0.13", free_port("127.0.0.13")
    env = {
        "POD_IP": host,
        "PGPORT": str(port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "admin-pw",
        "POSTGRES_DB": "orders",
        "POSTGRES_NON_ROOT_USER": "shop",
        "POSTGRES_NON_ROOT_PASSWORD": "pw",
        "POSTGRES_MAX_CONNECTIONS": "8",
    }
    proc = spawn("postgres_entrypoint", tmp_path, env)
    reaper.append(proc)
    wait_for_line(proc, "PostgreSQL ready")
    assert psql(host, port, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == "f"
    assert psql(host, port, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'orders'") == "shop"
    psql(host, port, "CREATE TABLE owned_by_the_app (v text)")  # PostgreSQL 15: only the owner may create in public

    async def fill_then_admin() -> tuple[int, str, str]:
        app = f"postgresql://shop:pw@{host}:{port}/orders"
        held: list[asyncpg.Connection] = []
        refusal = ""
        try:
            for _ in range(10):
                try:
                    held.append(await asyncpg.connect(app))
                except asyncpg.PostgresError as exc:
                    refusal = str(exc)
                    break
            admin = await asyncpg.connect(f"postgresql://postgres:admin-pw@{host}:{port}/orders")
            who = str(await admin.fetchval("SELECT current_user"))
            await admin.close()
            return len(held), refusal, who
        finally:
            for conn in held:
                await conn.close()

    opened, refusal, who = asyncio.run(fill_then_admin())
    assert opened == 8 - 3  # max_connections minus superuser_reserved_connections
    assert "reserved for non-replication superuser connections" in refusal
    assert who == "postgres"


def test_a_non_root_role_without_a_password_fails_at_start(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "POSTGRES_PASSWORD": "pw", "POSTGRES_NON_ROOT_USER": "shop"}
    result = subprocess.run(
        [sys.executable, "-m", "drillbook.platform.local.datastores.postgres_entrypoint"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "POSTGRES_NON_ROOT_PASSWORD" in result.stderr
