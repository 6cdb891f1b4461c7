"""PostgreSQL and Redis run as testcontainers containers from locally built images, on loopback, labelled."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
import redis

from drillbook.platform.docker import EngineHandle, start_postgres, start_redis
from drillbook.platform.docker.datastores import remove_run_containers

pytestmark = [pytest.mark.docker, pytest.mark.live]


def _containers(run_id: str) -> list[str]:
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=org.drillbook.run={run_id}"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout.split()


def test_postgres_container_serves_the_scenario_role_and_database_on_loopback(docker_engine: EngineHandle) -> None:
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    pg = start_postgres(run_id, user="azora", password="s3cret", database="azora", settings={"max_connections": "40"})
    try:
        env = {"PGPASSWORD": "s3cret", "PATH": "/usr/bin:/bin"}
        query = ["psql", "-h", "127.0.0.1", "-p", str(pg.loopback_port), "-U", "azora", "-d", "azora", "-tAc"]
        shown = subprocess.run(
            [*query, "SHOW max_connections"], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert shown.stdout.strip() == "40", shown.stderr
        version = subprocess.run(
            [*query, "SHOW server_version"], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert version.stdout.startswith("15."), version.stderr
        assert _containers(run_id) == [pg.container_id[:12]]
    finally:
        pg.stop()
    assert _containers(run_id) == []


def test_redis_container_answers_and_is_published_on_loopback_only(docker_engine: EngineHandle) -> None:
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    store = start_redis(run_id, maxmemory="64mb")
    try:
        client = redis.Redis(host="127.0.0.1", port=store.loopback_port)
        assert client.ping()
        assert client.config_get("maxmemory")["maxmemory"] == str(64 * 1024 * 1024)
        published = subprocess.run(
            ["docker", "port", store.container_id], capture_output=True, text=True, check=True, timeout=30
        ).stdout
        assert published.strip().startswith("6379/tcp -> 127.0.0.1:"), published
    finally:
        store.stop()


def test_cleanup_removes_exactly_the_containers_a_run_labelled(docker_engine: EngineHandle) -> None:
    ours, theirs = f"test-{uuid.uuid4().hex[:8]}", f"test-{uuid.uuid4().hex[:8]}"
    mine = start_redis(ours)
    other = start_redis(theirs)
    try:
        removed = remove_run_containers(ours)
        assert removed == [mine.container_id]
        assert _containers(ours) == []
        assert _containers(theirs) == [other.container_id[:12]]
    finally:
        other.stop()


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client")
def test_images_are_labelled_as_drillbooks_own(docker_engine: EngineHandle) -> None:
    for tag in ("drillbook/base:bookworm", "drillbook/postgres:15", "drillbook/redis:7"):
        label = subprocess.run(
            ["docker", "image", "inspect", tag, "--format", '{{index .Config.Labels "org.drillbook.managed"}}'],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.strip()  # fmt: skip
        assert label == "true", tag
