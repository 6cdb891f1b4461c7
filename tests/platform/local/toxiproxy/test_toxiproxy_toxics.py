"""Each toxic's effect, observed from real Redis and PostgreSQL clients through the proxy.

Timing checks are lower bounds only (a toxic must add at least what it promises), never speed limits.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time

import asyncpg
import pytest
import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry
from toxiproxy.proxy import Proxy

from drillbook.platform.local.datastores import PostgresInstance, RedisInstance
from drillbook.platform.local.toxiproxy import ToxiproxyProcess

pytestmark = pytest.mark.live


def address(proxy: Proxy) -> tuple[str, int]:
    host, _, port = proxy.listen.rpartition(":")
    return host, int(port)


def redis_client(proxy: Proxy, **kwargs: float) -> redis.Redis:
    host, port = address(proxy)
    # No retries: a toxic's first effect is what the test observes (and retries would only slow it down).
    return redis.Redis(host=host, port=port, retry=Retry(NoBackoff(), 0), **kwargs)  # type: ignore[arg-type]


def timed(action: object) -> float:
    assert callable(action)
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def raw_get(proxy: Proxy, key: str, *, timeout: float = 5.0) -> tuple[bytes, int]:
    """Send GET over a raw socket and read until EOF or the full reply; return (bytes, number of recv calls)."""
    host, port = address(proxy)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"*2\r\n$3\r\nGET\r\n${len(key)}\r\n{key}\r\n".encode())
        data, reads = b"", 0
        while True:
            chunk = sock.recv(65536)
            reads += 1
            if not chunk:
                return data, reads
            data += chunk
            header, _, rest = data.partition(b"\r\n")
            if header.startswith(b"$") and len(rest) >= int(header[1:]) + 2:
                return data, reads


def test_latency_delays_an_existing_connection_and_lifts_when_removed(redis_proxy: Proxy) -> None:
    client = redis_client(redis_proxy)
    client.ping()  # the connection exists before the toxic does
    redis_proxy.add_toxic(type="latency", attributes={"latency": 300})
    slowed = timed(client.ping)
    redis_proxy.destroy_toxic("latency_downstream")
    assert slowed >= 0.28
    client.ping()
    assert timed(client.ping) < slowed


def test_updating_a_toxic_changes_live_connections(toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy) -> None:
    client = redis_client(redis_proxy)
    client.ping()
    redis_proxy.add_toxic(type="latency", name="lag", attributes={"latency": 50})
    update = {"attributes": {"latency": 400}}
    requests.post(f"{toxiproxy_process.url}/proxies/{redis_proxy.name}/toxics/lag", json=update, timeout=5)
    assert timed(client.ping) >= 0.38


def test_removing_a_timeout_closes_the_connections_it_starved(redis_proxy: Proxy) -> None:
    host, port = address(redis_proxy)
    redis_proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        time.sleep(0.2)
        redis_proxy.destroy_toxic("timeout_downstream")
        assert sock.recv(100) == b""  # as in Toxiproxy: the stream lost data, so it is closed


def test_upstream_latency_applies_to_requests(redis_proxy: Proxy) -> None:
    client = redis_client(redis_proxy)
    redis_proxy.add_toxic(type="latency", stream="upstream", attributes={"latency": 200})
    assert timed(client.ping) >= 0.18


def test_zero_toxicity_leaves_connections_alone(redis_proxy: Proxy) -> None:
    client = redis_client(redis_proxy, socket_timeout=5)
    redis_proxy.add_toxic(type="timeout", toxicity=0.0, attributes={"timeout": 0})
    assert client.ping() is True


def test_bandwidth_limits_throughput(redis_proxy: Proxy, redis_upstream: RedisInstance) -> None:
    redis.Redis.from_url(redis_upstream.url).set("big", b"x" * 400_000)
    client = redis_client(redis_proxy)
    redis_proxy.add_toxic(type="bandwidth", attributes={"rate": 1000})  # 1 MB/s
    elapsed = timed(lambda: client.get("big"))
    assert elapsed >= 0.3  # 400 kB at 1000 KB/s is 0.4 s


def test_timeout_zero_holds_requests_forever(redis_proxy: Proxy) -> None:
    client = redis_client(redis_proxy, socket_timeout=0.5)
    redis_proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    with pytest.raises(redis.exceptions.TimeoutError):
        client.ping()


def test_timeout_closes_the_connection_after_its_delay(redis_proxy: Proxy) -> None:
    host, port = address(redis_proxy)
    redis_proxy.add_toxic(type="timeout", attributes={"timeout": 300})
    with socket.create_connection((host, port), timeout=5) as sock:
        started = time.perf_counter()
        sock.sendall(b"PING\r\n")
        assert sock.recv(100) == b""  # dropped, then closed
        assert time.perf_counter() - started >= 0.25


def test_removing_a_timeout_lets_new_connections_through(redis_proxy: Proxy) -> None:
    redis_proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    redis_proxy.destroy_toxic("timeout_downstream")
    assert redis_client(redis_proxy, socket_timeout=2).ping() is True


def test_reset_peer_resets_the_connection(redis_proxy: Proxy) -> None:
    client = redis_client(redis_proxy, socket_timeout=5)
    client.ping()
    redis_proxy.add_toxic(type="reset_peer", stream="upstream", attributes={"timeout": 0})
    with pytest.raises(redis.exceptions.ConnectionError, match="reset by peer"):
        client.ping()


def test_slicer_splits_replies_into_small_writes(redis_proxy: Proxy, redis_upstream: RedisInstance) -> None:
    value = bytes(range(256)) * 8
    redis.Redis.from_url(redis_upstream.url).set("sliced", value)
    redis_proxy.add_toxic(type="slicer", attributes={"average_size": 64, "size_variation": 16, "delay": 2000})
    data, reads = raw_get(redis_proxy, "sliced")
    assert data.endswith(value + b"\r\n")
    assert reads > 5
    assert redis_client(redis_proxy).get("sliced") == value


def test_limit_data_closes_after_the_byte_budget(redis_proxy: Proxy, redis_upstream: RedisInstance) -> None:
    redis.Redis.from_url(redis_upstream.url).set("limited", b"y" * 1000)
    redis_proxy.add_toxic(type="limit_data", attributes={"bytes": 100})
    data, _ = raw_get(redis_proxy, "limited")
    assert len(data) == 100


def test_slow_close_delays_the_close(redis_proxy: Proxy) -> None:
    host, port = address(redis_proxy)
    redis_proxy.add_toxic(type="slow_close", attributes={"delay": 400})
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"QUIT\r\n")
        assert sock.recv(100) == b"+OK\r\n"
        started = time.perf_counter()
        assert sock.recv(100) == b""
        assert time.perf_counter() - started >= 0.3


def test_disable_refuses_and_drops_then_enable_serves(redis_proxy: Proxy) -> None:
    client = redis_client(redis_proxy, socket_timeout=2)
    client.ping()
    host, port = address(redis_proxy)
    with socket.create_connection((host, port), timeout=2) as held:
        redis_proxy.disable()
        assert held.recv(100) == b""  # existing connection dropped
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, port), timeout=2).close()
    redis_proxy.enable()
    assert redis_client(redis_proxy, socket_timeout=2).ping() is True


def test_psql_works_through_the_proxy(pg_proxy: Proxy, pg_upstream: PostgresInstance) -> None:
    host, port = address(pg_proxy)
    env = {"PATH": "/usr/bin:/bin", **pg_upstream.env(), "PGHOST": host, "PGPORT": str(port)}
    out = subprocess.run(
        ["psql", "-X", "-At", "-c", "SELECT 6 * 7"], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "42"


def test_postgres_latency_and_reset_seen_by_asyncpg(pg_proxy: Proxy, pg_upstream: PostgresInstance) -> None:
    host, port = address(pg_proxy)
    dsn = pg_upstream.dsn.replace(f"{pg_upstream.host}:{pg_upstream.port}", f"{host}:{port}")

    async def scenario() -> tuple[float, BaseException | None]:
        conn = await asyncpg.connect(dsn)
        try:
            pg_proxy.add_toxic(type="latency", attributes={"latency": 250})
            started = time.perf_counter()
            await conn.fetchval("SELECT 1")
            slowed = time.perf_counter() - started
            pg_proxy.destroy_toxic("latency_downstream")
            pg_proxy.add_toxic(type="reset_peer", stream="upstream", attributes={"timeout": 0})
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                return slowed, exc
            return slowed, None
        finally:
            conn.terminate()

    slowed, error = asyncio.run(scenario())
    assert slowed >= 0.23
    assert error is not None
