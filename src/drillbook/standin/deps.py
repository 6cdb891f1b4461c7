"""The stand-in's two dependencies: a PostgreSQL pool (asyncpg) and Redis (redis-py asyncio).

Both open lazily, so the service starts while a dependency is down; every failure becomes a
:class:`DependencyDown` carrying the message a real Node/Python/Go service would log (``ECONNREFUSED``,
``timeout acquiring connection``, PostgreSQL's own ``sorry, too many clients already``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import urlsplit

import asyncpg
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import OutOfMemoryError, ReadOnlyError, RedisError, ResponseError

from drillbook.standin.config import StandinConfig

Dependency = Literal["database", "redis"]


class DependencyDown(Exception):
    """A request could not use a dependency; ``message`` is what the service logs."""

    def __init__(self, dependency: Dependency, message: str) -> None:
        super().__init__(message)
        self.dependency: Dependency = dependency
        self.message = message


def _endpoint(url: str, default_port: int) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or default_port}"


def describe_connect_error(exc: BaseException, endpoint: str) -> str:
    """Render a connection failure the way Node's net module does (runbooks grep ``ECONNREFUSED``)."""
    if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
        return f"Error: connect ECONNREFUSED {endpoint}"
    if isinstance(exc, TimeoutError):
        return f"Error: connect ETIMEDOUT {endpoint}"
    if isinstance(exc, ConnectionResetError) or "reset" in str(exc).lower():
        return f"Error: read ECONNRESET {endpoint}"
    return f"{type(exc).__name__}: {exc} ({endpoint})"


class Database:
    """A bounded asyncpg pool with an acquire timeout, query timing and an optional connection leak."""

    def __init__(self, config: StandinConfig, observe_query: Callable[[float, str], None]) -> None:
        self._config = config
        self._observe = observe_query
        self.endpoint = _endpoint(config.database_url, 5432)
        self._pool: asyncpg.Pool | None = None
        self._leaked: list[Any] = []
        self.waiting = 0

    async def open(self) -> None:
        """Create the pool without connecting (min size 0), so a down database does not stop the start."""
        self._pool = await asyncpg.create_pool(
            self._config.database_url,
            min_size=0,
            max_size=self._config.pool_size,
            max_inactive_connection_lifetime=self._config.idle_timeout_ms / 1000,
            command_timeout=30.0,
        )

    async def close(self) -> None:
        """Close the pool, also terminating leaked connections; bounded so shutdown cannot hang."""
        if self._pool is None:
            return
        for conn in self._leaked:
            with contextlib.suppress(Exception):  # a leaked connection may be long dead
                await self._pool.release(conn)
        self._leaked.clear()
        try:
            await asyncio.wait_for(self._pool.close(), timeout=5.0)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            self._pool.terminate()

    def stats(self) -> dict[str, int]:
        """Pool gauge values: idle, active (checked out, leaked included) and waiting requests."""
        if self._pool is None:
            return {"idle": 0, "active": 0, "waiting": self.waiting}
        idle = self._pool.get_idle_size()
        return {"idle": idle, "active": self._pool.get_size() - idle, "waiting": self.waiting}

    @asynccontextmanager
    async def connection(self, *, timeout_ms: int | None = None, leak: bool = False) -> AsyncIterator[Any]:
        """Check out a connection, or raise :class:`DependencyDown` with the message a real app logs.

        Args:
            timeout_ms: Acquire timeout; the configured one when None.
            leak: Never give the connection back (the connection-leak failure mode).
        """
        if self._pool is None:
            raise DependencyDown("database", "database pool is not open yet")
        timeout = (timeout_ms if timeout_ms is not None else self._config.acquire_timeout_ms) / 1000
        self.waiting += 1
        try:
            conn = await self._pool.acquire(timeout=timeout)
        except TimeoutError:
            size = self._config.pool_size
            message = self._config.profile.pool_timeout_message.format(size=size, timeout=int(timeout * 1000))
            raise DependencyDown("database", message) from None
        except asyncpg.PostgresError as exc:  # e.g. "sorry, too many clients already": pass PostgreSQL's words on
            raise DependencyDown("database", f"error: {exc}") from exc
        except OSError as exc:
            raise DependencyDown("database", describe_connect_error(exc, self.endpoint)) from exc
        except Exception as exc:  # any client failure means "no connection", never a crash
            raise DependencyDown("database", f"{type(exc).__name__}: {exc} ({self.endpoint})") from exc
        finally:
            self.waiting -= 1
        try:
            yield conn
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as exc:
            raise DependencyDown("database", f"Connection terminated unexpectedly: {exc}") from exc
        finally:
            if leak:
                self._leaked.append(conn)
            else:
                await self._pool.release(conn)

    async def fetch(self, conn: Any, sql: str, *args: Any) -> list[Any]:
        """Run a query, observing its duration."""
        start = time.perf_counter()
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            self._observe(time.perf_counter() - start, sql)

    async def execute(self, conn: Any, sql: str, *args: Any) -> None:
        """Run a statement, observing its duration."""
        start = time.perf_counter()
        try:
            await conn.execute(sql, *args)
        finally:
            self._observe(time.perf_counter() - start, sql)


class Cache:
    """Redis for sessions, cache and counters; reconnects by itself on the next command after an outage."""

    def __init__(self, config: StandinConfig) -> None:
        self.endpoint = _endpoint(config.redis_url, 6379)
        # One quick retry: a real client's retry strategy rides over a blip without stalling requests for long.
        self.client = aioredis.Redis.from_url(
            config.redis_url,
            socket_connect_timeout=0.5,
            socket_timeout=1.0,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), 1),
            decode_responses=True,
        )

    async def close(self) -> None:
        """Close the client's connections."""
        with contextlib.suppress(TimeoutError, RedisError, OSError):
            await asyncio.wait_for(self.client.aclose(), timeout=2.0)

    def error(self, exc: BaseException) -> DependencyDown:
        """Turn a redis-py failure into the line a Node ioredis app would log."""
        if isinstance(exc, ResponseError):  # the server answered with an error (OOM at maxmemory, READONLY …)
            # redis-py strips the reply's error code from the message; put it back the way the server sent it.
            code = {OutOfMemoryError: "OOM ", ReadOnlyError: "READONLY "}.get(type(exc), "")
            return DependencyDown("redis", f"ReplyError: {code}{exc}")
        causes: list[BaseException] = []
        cause: BaseException | None = exc
        while cause is not None and len(causes) < 10:
            causes.append(cause)
            cause = cause.__cause__ or cause.__context__
        text = " ".join(str(c) for c in causes).lower()
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text or "error 111" in text:
            return DependencyDown("redis", f"Error: connect ECONNREFUSED {self.endpoint}")
        if any(isinstance(c, TimeoutError) for c in causes) or "timeout" in text or "timed out" in text:
            return DependencyDown("redis", f"Error: connect ETIMEDOUT {self.endpoint}")
        return DependencyDown("redis", f"Redis connection lost: {exc} ({self.endpoint})")
