"""One replica's state: dependencies, capacity, metrics, health, and the background work that keeps them current."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import psutil
from redis.exceptions import RedisError

from drillbook.standin.capacity import Capacity
from drillbook.standin.config import StandinConfig
from drillbook.standin.deps import Cache, Database, DependencyDown
from drillbook.standin.jsonlog import JsonLogger
from drillbook.standin.metrics import MS_BUCKETS, Registry, single
from drillbook.standin.schema import ensure_schema


@dataclass
class DepStatus:
    """Last known state of one dependency."""

    up: bool = False
    response_ms: float = 0.0
    error: str | None = None


#: Share of the heap limit from which a leaking replica's garbage collector starts to pause requests.
GC_PRESSURE_FROM = 0.5
#: Seconds of pause per unit of heap used past GC_PRESSURE_FROM (4 s: 1 s at 75 % of the limit).
GC_PAUSE_S_PER_UNIT = 4.0
#: Seconds before the first retry of a schema setup the database refused; each retry waits 1.5x longer, up to
#: SCHEMA_RETRY_MAX_S. A replica that starts beside its database is ready within a tenth of a second of it.
SCHEMA_RETRY_FIRST_S = 0.1
SCHEMA_RETRY_MAX_S = 2.0


class Standin:
    """Everything one replica holds; request handlers in :mod:`drillbook.standin.routes` use it."""

    def __init__(self, config: StandinConfig, log: JsonLogger) -> None:
        self.config = config
        self.profile = config.profile
        self.log = log
        self.started = time.monotonic()
        self.metrics = Registry()
        self._init_metrics()
        self.db = Database(config, self._observe_query)
        self.cache = Cache(config)
        self.capacity = Capacity(config.max_concurrency, config.max_queue, config.service_time_ms)
        self.status: dict[str, DepStatus] = {"database": DepStatus(), "redis": DepStatus()}
        self.schema_ready = False
        self.requests = 0
        self.checkouts = 0
        self._ballast: list[bytes] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._process = psutil.Process()
        self.rate_windows: dict[str, tuple[float, int]] = {}

    def _init_metrics(self) -> None:
        m = self.metrics
        self.http_requests = m.counter("http_requests_total", "HTTP requests by method, route and status.")
        self.http_errors = m.counter("http_errors_total", "HTTP responses with status >= 500.")
        self.http_seconds = m.histogram("http_request_duration_seconds", "HTTP request duration in seconds.")
        self.http_ms = (
            m.histogram("http_request_duration_ms", "HTTP request duration in ms.", MS_BUCKETS)
            if self.profile.ms_histograms
            else None
        )
        self.db_seconds = m.histogram("db_query_duration_seconds", "Database query duration in seconds.")
        self.db_ms = (
            m.histogram("db_query_duration_ms", "Database query duration in ms.", MS_BUCKETS)
            if self.profile.ms_histograms
            else None
        )
        info = {"service": self.profile.service, "profile": self.profile.name, "version": self.config.version}
        m.gauge("app_info", "Which service and version this is (always 1).", lambda: {tuple(info.items()): 1.0})
        self.rate_limited = m.counter("rate_limit_exceeded_total", "Requests refused by the rate limiter.")
        m.gauge(
            "db_pool_connections",
            "Database pool connections by state.",
            lambda: {(("state", k),): float(v) for k, v in self.db.stats().items()},
        )
        m.gauge("db_pool_max", "Configured pool size.", lambda: single(self.config.pool_size))
        m.gauge("db_up", "1 when the database answered the last health check.", lambda: self._up("database"))
        m.gauge("redis_connected", "1 when Redis answered the last health check.", lambda: self._up("redis"))
        m.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", lambda: single(self.rss()))
        m.gauge("process_cpu_seconds_total", "User and system CPU time in seconds.", self._cpu)
        m.gauge("nodejs_heap_used_percent", "Memory used as a percentage of the heap limit.", self._heap_percent)
        m.gauge("standin_requests_in_service", "Requests holding a capacity slot.", self._in_service)
        m.gauge("standin_requests_queued", "Requests waiting for a capacity slot.", self._queued)
        m.gauge("standin_requests_rejected_total", "Requests refused because the queue was full.", self._rejected)
        m.gauge("standin_max_concurrency", "Capacity slots of this replica.", self._max_concurrency)
        self._runbook_metric_names()

    def _runbook_metric_names(self) -> None:
        """The names the runbook queries (``metrics.names`` of standin.yaml), beside the standard ones."""
        for standard, exported in self.profile.metric_names.items():
            if self.metrics.alias(exported, standard):
                continue
            state = standard.removeprefix("db_pool_")
            if state in ("active", "idle", "waiting"):
                self.metrics.gauge(exported, f"Database pool connections {state}.", self._pool_state(state))

    def _pool_state(self, state: str) -> Callable[[], dict[tuple[tuple[str, str], ...], float]]:
        return lambda: single(self.db.stats()[state])

    def _up(self, dep: str) -> dict[tuple[tuple[str, str], ...], float]:
        return single(1.0 if self.status[dep].up else 0.0)

    def _cpu(self) -> dict[tuple[tuple[str, str], ...], float]:
        times = self._process.cpu_times()
        return single(times.user + times.system)

    def _heap_percent(self) -> dict[tuple[tuple[str, str], ...], float]:
        return single(round(100.0 * self.rss() / (self.config.heap_limit_mb * 1024 * 1024), 2))

    def _in_service(self) -> dict[tuple[tuple[str, str], ...], float]:
        return single(self.capacity.in_service)

    def _queued(self) -> dict[tuple[tuple[str, str], ...], float]:
        return single(self.capacity.queued)

    def _rejected(self) -> dict[tuple[tuple[str, str], ...], float]:
        return single(self.capacity.rejected)

    def _max_concurrency(self) -> dict[tuple[tuple[str, str], ...], float]:
        return single(self.capacity.max_concurrency)

    def _observe_query(self, seconds: float, sql: str) -> None:
        self.db_seconds.observe(seconds)
        if self.db_ms is not None:
            self.db_ms.observe(seconds * 1000)
        if seconds * 1000 >= self.config.slow_query_ms:
            self.log.warn(f"slow query: {seconds * 1000:.0f}ms {sql}", durationMs=round(seconds * 1000, 1))

    def rss(self) -> int:
        """Resident memory of this process in bytes."""
        return int(self._process.memory_info().rss)

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the pool (without connecting) and start background work."""
        await self.db.open()
        self._spawn(self._prepare_schema())
        self._spawn(self._watch_dependencies())
        if self.config.memory_growth_mb_per_s > 0:
            self._spawn(self._grow_memory())

    async def stop(self) -> None:
        """Cancel background work and close both dependencies."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.db.close()
        await self.cache.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(coro))

    # -- health ----------------------------------------------------------------------------------------------

    async def check_database(self) -> DepStatus:
        """Run ``SELECT 1`` through the pool with a short acquire timeout."""
        start = time.perf_counter()
        try:
            async with self.db.connection(timeout_ms=500) as conn:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=1.0)
        except DependencyDown as exc:
            return DepStatus(False, (time.perf_counter() - start) * 1000, exc.message)
        except TimeoutError:
            return DepStatus(False, (time.perf_counter() - start) * 1000, "timeout: SELECT 1 took longer than 1s")
        return DepStatus(True, (time.perf_counter() - start) * 1000)

    async def check_redis(self) -> DepStatus:
        """``PING`` Redis."""
        start = time.perf_counter()
        try:
            await asyncio.wait_for(self.cache.client.ping(), timeout=1.5)
        except (RedisError, OSError, TimeoutError) as exc:
            return DepStatus(False, (time.perf_counter() - start) * 1000, self.cache.error(exc).message)
        return DepStatus(True, (time.perf_counter() - start) * 1000)

    async def check_all(self) -> dict[str, DepStatus]:
        """Check both dependencies now, record and log transitions, return the statuses."""
        db, redis = await asyncio.gather(self.check_database(), self.check_redis())
        self._record("database", db)
        self._record("redis", redis)
        return {"database": db, "redis": redis}

    def _record(self, dep: str, new: DepStatus) -> None:
        old = self.status[dep]
        self.status[dep] = new
        if old.up and not new.up:
            lost = "Redis connection lost" if dep == "redis" else "Database connection lost"
            self.log.error(f"{lost}: {new.error}", dependency=dep)
        elif not old.up and new.up:
            back = "Redis connection restored" if dep == "redis" else "Database connection restored"
            self.log.info(f"{back} ({new.response_ms:.0f}ms)", dependency=dep)

    async def _watch_dependencies(self) -> None:
        # Initial failures are logged once, like a client's first connect error; then only transitions.
        first = await self.check_all()
        for dep, st in first.items():
            if not st.up:
                self.log.error(f"{dep} unavailable at startup, retrying in background: {st.error}", dependency=dep)
        while True:
            await asyncio.sleep(self.config.health_interval_s)
            await self.check_all()

    async def _prepare_schema(self) -> None:
        # A database still starting is the usual case (the pods of a Deployment start together): retry soon, then
        # back off, and log a failure only when it differs from the last one, as a client's retry loop does.
        delay, last = SCHEMA_RETRY_FIRST_S, ""
        while True:
            try:
                async with self.db.connection(timeout_ms=10_000) as conn:
                    seeded = await ensure_schema(conn, self.config)
            except DependencyDown as exc:
                if exc.message != last:
                    self.log.warn(f"database not ready for schema setup, retrying: {exc.message}")
                last = exc.message
            except Exception as exc:  # e.g. a lock timeout: log it and retry, the replica must keep running
                self.log.error(f"schema setup failed, retrying: {type(exc).__name__}: {exc}")
                last = ""
            else:
                self.schema_ready = True
                self.log.info("database schema ready", seededRows=seeded, table=self.profile.resource.slow_table)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, SCHEMA_RETRY_MAX_S)

    # -- failure modes ---------------------------------------------------------------------------------------

    def leaks_next(self) -> bool:
        """Whether the next business checkout is one the connection leak keeps (evenly spaced, no RNG)."""
        share = self.config.leak_connections
        self.checkouts += 1
        return share > 0 and int(self.checkouts * share) > int((self.checkouts - 1) * share)

    def gc_pause_s(self) -> float:
        """How long a request pauses for garbage collection now, in seconds.

        Only a replica that leaks (growth or per-request retention) pauses: from half its heap limit the pause
        grows by 40 ms per point of heap used (0.2 s at 55 %, 1 s at 75 %, 1.6 s at 90 %), so a leak is a steady
        latency breach between its OOM kills, not only the bursts of errors each kill causes.
        """
        if self.config.memory_growth_mb_per_s <= 0 and self.config.leak_kb_per_request <= 0:
            return 0.0
        used = self.rss() / (self.config.heap_limit_mb * 1024 * 1024)
        return max(0.0, used - GC_PRESSURE_FROM) * GC_PAUSE_S_PER_UNIT

    async def gc_pause(self) -> None:
        """Pause the request for :meth:`gc_pause_s`."""
        pause = self.gc_pause_s()
        if pause > 0:
            await asyncio.sleep(pause)

    def retain(self, kb: int) -> None:
        """Keep ``kb`` KiB of touched memory for the life of the process (memory leak)."""
        self._ballast.append(b"\xa5" * (kb * 1024))

    async def _grow_memory(self) -> None:
        step_kb = max(1, int(self.config.memory_growth_mb_per_s * 1024 / 10))
        last_log = 0.0
        while True:
            await asyncio.sleep(0.1)
            self.retain(step_kb)
            now = time.monotonic()
            if now - last_log >= 5:
                last_log = now
                self.log.warn(
                    "memory usage growing: heap not reclaimed by gc",
                    rssBytes=self.rss(),
                    heapUsedPercent=self._heap_percent()[()],
                )
