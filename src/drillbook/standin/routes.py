"""HTTP handlers: health, metrics, the profile's business resource (create, read, search, nested) and its
plain endpoints."""

from __future__ import annotations

import asyncio
import json
import secrets
import string
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from drillbook.standin.profiles import Endpoint, Profile, Resource
from drillbook.standin.service import DepStatus, Standin

STATE: web.AppKey[Standin] = web.AppKey("standin", Standin)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CACHE_TTL_S = 30
SESSION_TTL_S = 1800


class InjectedFailure(Exception):
    """The error-rate failure mode chose this request to fail with 500."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dep_json(st: DepStatus) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "up" if st.up else "down", "responseTime": round(st.response_ms)}
    if st.error:
        body["error"] = st.error
    return body


async def health(request: web.Request) -> web.Response:
    """Per-dependency status and response time; 503 when a dependency is down."""
    state = request.app[STATE]
    deps = await state.check_all()
    healthy = all(d.up for d in deps.values()) and state.schema_ready
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "service": state.profile.service,
        "timestamp": _now(),
        "uptime": round(time.monotonic() - state.started),
        "dependencies": {name: _dep_json(st) for name, st in deps.items()},
    }
    return web.json_response(body, status=200 if healthy else 503)


async def ready(request: web.Request) -> web.Response:
    """200 when the database (schema included) and Redis are available, 503 otherwise."""
    state = request.app[STATE]
    deps = await state.check_all()
    down = [name for name, st in deps.items() if not st.up]
    if not state.schema_ready and "database" not in down:
        down.append("schema")
    if down:
        return web.json_response({"status": "not ready", "down": down}, status=503)
    return web.json_response({"status": "ready"})


async def live(request: web.Request) -> web.Response:
    """200 while the process answers, whatever its dependencies."""
    return web.json_response({"status": "alive", "uptime": round(time.monotonic() - request.app[STATE].started)})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    body = request.app[STATE].metrics.render()
    return web.Response(text=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def index(request: web.Request) -> web.Response:
    """What this service is, for a curious ``curl /``."""
    state = request.app[STATE]
    body = {"service": state.profile.service, "profile": state.profile.name, "version": state.config.version}
    return web.json_response(body)


# -- business ----------------------------------------------------------------------------------------------------


def business(fn: Callable[[Standin, web.Request], Awaitable[web.Response]]) -> Handler:
    """Run a business handler inside the capacity model, failure modes, rate limit and session touch."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        limited = _rate_limited(state, request)
        if limited is not None:
            return limited
        async with state.capacity.slot():
            _misbehave(state)
            await state.gc_pause()
            await _touch_session(state, request)
            return await fn(state, request)

    return wrapper


def _client(request: web.Request) -> str:
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.split(",")[0].strip() or request.remote or "unknown"


def _rate_limited(state: Standin, request: web.Request) -> web.Response | None:
    limit = state.config.rate_limit_per_window
    if limit <= 0:
        return None
    client = _client(request)
    now = time.monotonic()
    start, count = state.rate_windows.get(client, (now, 0))
    if now - start >= state.config.rate_limit_window_s:
        start, count = now, 0
    state.rate_windows[client] = (start, count + 1)
    if count < limit:
        return None
    state.rate_limited.inc()
    state.log.warn("rate limit exceeded", ip=client, limit=limit)
    return web.json_response({"error": "Too Many Requests"}, status=429)


def _misbehave(state: Standin) -> None:
    config = state.config
    state.requests += 1
    if config.cpu_ms_per_request > 0:
        # Deliberately blocks the event loop: a CPU-bound handler starves every other request, as in Node.
        # Counted in CPU time, not wall time: on a busy or throttled CPU the same work takes longer, as it would.
        deadline = time.process_time() + config.cpu_ms_per_request / 1000
        while time.process_time() < deadline:
            pass
    if config.leak_kb_per_request > 0:
        state.retain(config.leak_kb_per_request)
        if state.requests % 100 == 0:
            state.log.warn("memory usage growing: heap not reclaimed by gc", rssBytes=state.rss())
    # Deterministic spacing (no RNG): exactly error_rate of requests fail over any window.
    if config.error_rate > 0 and int(state.requests * config.error_rate) > int(
        (state.requests - 1) * config.error_rate
    ):
        raise InjectedFailure("TypeError: Cannot read properties of undefined (reading 'id')")


async def _touch_session(state: Standin, request: web.Request) -> None:
    session = request.headers.get("X-Session-ID") or _client(request)
    try:
        await state.cache.client.set(f"{state.profile.service}:session:{session}", _now(), ex=SESSION_TTL_S)
    except (RedisError, OSError) as exc:
        raise state.cache.error(exc) from exc


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(reason="expected a JSON object body") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(reason="expected a JSON object body")
    return data


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _new_id(res: Resource) -> str:
    if res.id_format == "room-code":
        return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    return secrets.token_hex(8)


def _plain(record: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dict(record).items()}


def _row(res: Resource, record: Any) -> dict[str, Any]:
    row = _plain(record)
    if res.id_alias:
        row[res.id_alias] = row["id"]
    return row


def _cache_key(state: Standin, res: Resource, item_id: str) -> str:
    return f"{state.profile.service}:{res.table}:{item_id}"


@business
async def create(state: Standin, request: web.Request) -> web.Response:
    """``POST /api/<resource>``: insert a row, invalidate its cache entry."""
    res = state.profile.resource
    body = await _body(request)
    item_id = _new_id(res)
    cols = ", ".join(("id", *res.fields))
    params = ", ".join(f"${i}" for i in range(1, len(res.fields) + 2))
    values = [item_id, *(_text(body.get(f)) for f in res.fields)]
    async with state.db.connection(leak=state.leaks_next()) as conn:
        rows = await state.db.fetch(conn, f"INSERT INTO {res.table} ({cols}) VALUES ({params}) RETURNING *", *values)
        if state.profile.audit:
            await state.db.execute(
                conn, "INSERT INTO audit_logs (action, detail) VALUES ($1, $2)", f"{res.path}.create", json.dumps(body)
            )
    return web.json_response(_row(res, rows[0]), status=201)


@business
async def read(state: Standin, request: web.Request) -> web.Response:
    """``GET /api/<resource>/{id}``: Redis cache first, then the database."""
    res = state.profile.resource
    item_id = request.match_info["id"]
    key = _cache_key(state, res, item_id)
    try:
        cached = await state.cache.client.get(key)
    except (RedisError, OSError) as exc:
        raise state.cache.error(exc) from exc
    if cached is not None:
        row = json.loads(cached)
    else:
        async with state.db.connection(leak=state.leaks_next()) as conn:
            rows = await state.db.fetch(conn, f"SELECT * FROM {res.table} WHERE id = $1", item_id)
        if not rows:
            raise web.HTTPNotFound(reason=f"no {res.path} with id {item_id}")
        row = _row(res, rows[0])
        try:
            await state.cache.client.set(key, json.dumps(row), ex=CACHE_TTL_S)
        except (RedisError, OSError) as exc:
            raise state.cache.error(exc) from exc
    if res.child is not None and res.child.cache_counter is not None:
        try:
            row["votes"] = await state.cache.client.hgetall(f"{key}:{res.child.path}")
        except (RedisError, OSError) as exc:
            raise state.cache.error(exc) from exc
    return web.json_response(row)


async def _add_tallies(state: Standin, conn: Any, items: list[dict[str, Any]]) -> None:
    """Per listed parent, its children counted in one query (vote tallies, message counts).

    This is the hot query the child table's index serves: drop the index and every list scans the child table.
    """
    child = state.profile.resource.child
    if child is None or not items:
        return
    key = child.cache_counter or "''"
    sql = (
        f"SELECT {child.parent_column} AS parent, {key} AS key, count(*) AS n"
        f" FROM {child.table} WHERE {child.parent_column} = ANY($1::text[]) GROUP BY 1, 2"
    )
    by_parent: dict[str, dict[str, int]] = {}
    for row in await state.db.fetch(conn, sql, [item["id"] for item in items]):
        by_parent.setdefault(row["parent"], {})[str(row["key"])] = int(row["n"])
    for item in items:
        counts = by_parent.get(item["id"], {})
        if child.cache_counter is not None:
            item[child.path + "s"] = counts
        else:
            item[child.path + "Count"] = sum(counts.values())


@business
async def search(state: Standin, request: web.Request) -> web.Response:
    """``GET /api/<resource>?<column>=…``: filters on the unindexed columns, latest first."""
    res = state.profile.resource
    given = [c for c in res.search if c in request.query]
    where = " AND ".join(f"{c} = ${i}" for i, c in enumerate(given, start=1))
    sql = f"SELECT * FROM {res.table}{' WHERE ' + where if where else ''} ORDER BY created_at DESC LIMIT 50"
    async with state.db.connection(leak=state.leaks_next()) as conn:
        rows = await state.db.fetch(conn, sql, *(request.query[c] for c in given))
        items = [_row(res, r) for r in rows]
        await _add_tallies(state, conn, items)
    return web.json_response({"items": items, "count": len(items)})


@business
async def child_create(state: Standin, request: web.Request) -> web.Response:
    """``POST /api/<resource>/{id}/<child>``: a vote or a message; counted in Redis when the profile says so."""
    res = state.profile.resource
    assert res.child is not None
    child = res.child
    parent_id = request.match_info["id"]
    body = await _body(request)
    cols = ", ".join((child.parent_column, *child.fields))
    params = ", ".join(f"${i}" for i in range(1, len(child.fields) + 2))
    async with state.db.connection(leak=state.leaks_next()) as conn:
        exists = await state.db.fetch(conn, f"SELECT 1 FROM {res.table} WHERE id = $1", parent_id)
        if not exists:
            raise web.HTTPNotFound(reason=f"no {res.path} with id {parent_id}")
        rows = await state.db.fetch(
            conn,
            f"INSERT INTO {child.table} ({cols}) VALUES ({params}) RETURNING *",
            parent_id,
            *(_text(body.get(f)) for f in child.fields),
        )
    key = f"{_cache_key(state, res, parent_id)}:{child.path}"
    try:
        if child.cache_counter is not None:
            await state.cache.client.hincrby(key, str(body.get(child.cache_counter)), 1)
        await state.cache.client.publish(key, json.dumps(body))
    except (RedisError, OSError) as exc:
        raise state.cache.error(exc) from exc
    return web.json_response(_plain(rows[0]), status=201)


@business
async def child_list(state: Standin, request: web.Request) -> web.Response:
    """``GET /api/<resource>/{id}/<child>``: latest 50 rows for the parent (the chat room's messages)."""
    res = state.profile.resource
    assert res.child is not None
    child = res.child
    sql = f"SELECT * FROM {child.table} WHERE {child.parent_column} = $1 ORDER BY created_at DESC LIMIT 50"
    async with state.db.connection(leak=state.leaks_next()) as conn:
        rows = await state.db.fetch(conn, sql, request.match_info["id"])
    items = [_plain(r) for r in rows]
    return web.json_response({"items": items, "count": len(items)})


def endpoint_handler(endpoint: Endpoint) -> Handler:
    """A plain endpoint of the profile: its latency spent on the datastores it uses, then its fixed answer.

    With ``postgres`` in ``uses`` the latency is spent holding a pool connection (a query that takes that long),
    so pool exhaustion, a leak or a slow database network hurt this endpoint as they would the real one.
    """

    async def handle(state: Standin, request: web.Request) -> web.Response:
        if "redis" in endpoint.uses:
            try:
                await state.cache.client.get(f"{state.profile.service}:endpoint:{endpoint.path}")
            except (RedisError, OSError) as exc:
                raise state.cache.error(exc) from exc
        if "postgres" in endpoint.uses:
            async with state.db.connection(leak=state.leaks_next()) as conn:
                await state.db.execute(conn, "SELECT 1")
                if endpoint.latency_ms > 0:
                    await asyncio.sleep(endpoint.latency_ms / 1000)
        elif endpoint.latency_ms > 0:
            await asyncio.sleep(endpoint.latency_ms / 1000)
        return web.json_response(endpoint.body, status=endpoint.status)

    handle.__doc__ = f"``{endpoint.method} {endpoint.path}`` (from the profile's standin.yaml)."
    return business(handle)


HEALTH_PATHS = ("/api/health", "/health", "/healthz")
READY_PATHS = ("/api/health/ready", "/health/ready", "/ready", "/readyz")
LIVE_PATHS = ("/api/health/live", "/health/live", "/live", "/livez")
QUIET_PATHS = frozenset((*HEALTH_PATHS, *READY_PATHS, *LIVE_PATHS, "/metrics"))


def add_routes(app: web.Application, profile: Profile) -> None:
    """Register health aliases, metrics, the resource's routes and the profile's plain endpoints."""
    res = profile.resource
    for path in HEALTH_PATHS:
        app.router.add_get(path, health)
    for path in READY_PATHS:
        app.router.add_get(path, ready)
    for path in LIVE_PATHS:
        app.router.add_get(path, live)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", index)
    base = f"/api/{res.path}"
    app.router.add_post(base, create)
    app.router.add_get(base, search)
    app.router.add_get(base + "/{id}", read)
    if res.child is not None:
        app.router.add_post(f"{base}/{{id}}/{res.child.path}", child_create)
        app.router.add_get(f"{base}/{{id}}/{res.child.path}", child_list)
    for endpoint in profile.endpoints:
        app.router.add_route(endpoint.method, endpoint.path, endpoint_handler(endpoint))
