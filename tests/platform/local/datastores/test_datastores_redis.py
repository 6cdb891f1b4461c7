"""RedisInstance: real redis-server, real redis-py and redis-cli."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from drillbook.platform.local.datastores import RedisConfig, RedisInstance

pytestmark = pytest.mark.live

#: Fail at once: the tests look at the first error, and retries only add seconds.
NO_RETRY = Retry(NoBackoff(), 0)


def fill(client: redis.Redis, *, keys: int, size: int) -> None:
    for i in range(keys):
        client.set(f"key{i}", "x" * size)


def test_redis_py_and_redis_cli_reach_the_server(redis_instance: RedisInstance) -> None:
    client = redis.Redis.from_url(redis_instance.url)
    try:
        client.set("greeting", "hello")
    finally:
        client.close()
    out = subprocess.run(
        ["redis-cli", "-u", redis_instance.url, "GET", "greeting"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "hello"


def test_env_names_the_url_host_and_port(redis_instance: RedisInstance) -> None:
    assert redis_instance.env() == {
        "REDIS_URL": f"redis://127.0.0.1:{redis_instance.port}/0",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_instance.port),
    }


def test_persistence_is_off(redis_instance: RedisInstance) -> None:
    client = redis.Redis.from_url(redis_instance.url)
    try:
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        client.close()


def test_maxmemory_with_noeviction_refuses_writes(tmp_path: Path) -> None:
    with RedisInstance(RedisConfig(maxmemory="2mb"), base_dir=tmp_path) as instance:
        client = redis.Redis.from_url(instance.url)
        try:
            with pytest.raises(redis.exceptions.ResponseError, match="used memory > 'maxmemory'"):
                fill(client, keys=100, size=100_000)
        finally:
            client.close()


def test_password_is_required_when_configured(tmp_path: Path) -> None:
    with RedisInstance(RedisConfig(password="pw"), base_dir=tmp_path) as instance:
        anonymous = redis.Redis(host=instance.host, port=instance.port, retry=NO_RETRY)
        authed = redis.Redis.from_url(instance.url)
        try:
            with pytest.raises(redis.exceptions.AuthenticationError):
                anonymous.ping()
            assert authed.ping() is True
        finally:
            anonymous.close()
            authed.close()


def test_stop_reaps_the_server(tmp_path: Path) -> None:
    instance = RedisInstance(base_dir=tmp_path).start()
    pid = instance.pid
    assert pid is not None
    instance.stop()
    assert instance.pid is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_kill_then_start_serves_again_on_the_same_port(tmp_path: Path) -> None:
    with RedisInstance(base_dir=tmp_path) as instance:
        port = instance.port
        instance.kill()
        with pytest.raises(redis.exceptions.ConnectionError):
            redis.Redis(host=instance.host, port=port, retry=NO_RETRY).ping()
        instance.start()
        assert instance.port == port
        assert redis.Redis.from_url(instance.url).ping() is True
