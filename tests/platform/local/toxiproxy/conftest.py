"""Fixtures: one fault-proxy process, Redis and PostgreSQL behind it, and the real toxiproxy-python client."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.proxy import Proxy

from drillbook.platform.local.datastores import PostgresInstance, RedisInstance
from drillbook.platform.local.toxiproxy import ToxiproxyProcess

_names = itertools.count()


@pytest.fixture(scope="session")
def toxiproxy_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyProcess]:
    """``drillbook toxiproxy`` as a subprocess on a free port."""
    log = tmp_path_factory.mktemp("toxiproxy") / "toxiproxy.log"
    with ToxiproxyProcess(log_file=log) as process:
        yield process


@pytest.fixture
def client(toxiproxy_process: ToxiproxyProcess) -> Iterator[Toxiproxy]:
    """The real toxiproxy-python client, pointed at our server; every proxy is destroyed afterwards."""
    toxiproxy = Toxiproxy()
    toxiproxy.update_api_consumer(toxiproxy_process.host, toxiproxy_process.port)
    yield toxiproxy
    toxiproxy.destroy_all()


@pytest.fixture(scope="session")
def redis_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisInstance]:
    """A Redis for proxies to point at."""
    with RedisInstance(base_dir=tmp_path_factory.mktemp("redis")) as instance:
        yield instance


@pytest.fixture(scope="session")
def pg_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresInstance]:
    """A PostgreSQL for proxies to point at."""
    with PostgresInstance(base_dir=tmp_path_factory.mktemp("pg")) as instance:
        yield instance


@pytest.fixture
def redis_proxy(client: Toxiproxy, redis_upstream: RedisInstance) -> Proxy:
    """A proxy in front of Redis, on a free port."""
    return client.create(upstream=f"127.0.0.1:{redis_upstream.port}", name=f"redis{next(_names)}")


@pytest.fixture
def pg_proxy(client: Toxiproxy, pg_upstream: PostgresInstance) -> Proxy:
    """A proxy in front of PostgreSQL, on a free port."""
    return client.create(upstream=f"127.0.0.1:{pg_upstream.port}", name=f"pg{next(_names)}")


@pytest.fixture
def log_path(toxiproxy_process: ToxiproxyProcess) -> Path | None:
    """The server log, for debugging failures."""
    return toxiproxy_process.log_file
