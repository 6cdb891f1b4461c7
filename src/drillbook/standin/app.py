"""The aiohttp application, its observing middleware, and serving with graceful SIGTERM shutdown."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Mapping

from aiohttp import web

from drillbook.errors import UsageError
from drillbook.standin.capacity import Saturated
from drillbook.standin.config import MissingConfigError, StandinConfig
from drillbook.standin.deps import DependencyDown
from drillbook.standin.jsonlog import JsonLogger
from drillbook.standin.profiles import Profile
from drillbook.standin.routes import QUIET_PATHS, STATE, Handler, InjectedFailure, add_routes
from drillbook.standin.service import Standin

#: How long in-flight requests may finish after SIGTERM before connections are closed.
SHUTDOWN_GRACE_S = 10.0


def _error(status: int, message: str, cid: str) -> web.Response:
    return web.json_response({"error": message, "correlationId": cid}, status=status)


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Correlation id, error mapping, metrics and one access-log line per request."""
    state = request.app[STATE]
    cid = request.headers.get("X-Request-ID") or request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
    start = time.perf_counter()
    response: web.StreamResponse
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = _error(exc.status, exc.reason, cid)
    except Saturated as exc:
        state.log.warn(str(exc), correlation_id=cid, path=request.path)
        response = _error(503, "Service Unavailable: server busy", cid)
    except DependencyDown as exc:
        state.log.error(exc.message, correlation_id=cid, dependency=exc.dependency, path=request.path)
        response = _error(503, exc.message, cid)
    except InjectedFailure as exc:
        state.log.error(
            f"Unhandled error: {exc}", correlation_id=cid, path=request.path, stack=f"{exc}\n    at handler"
        )
        response = _error(500, "Internal Server Error", cid)
    except Exception as exc:  # any bug is a 500 with a log line, as in a real service, never a dropped connection
        state.log.error(f"Unhandled error: {type(exc).__name__}: {exc}", correlation_id=cid, path=request.path)
        response = _error(500, "Internal Server Error", cid)
    seconds = time.perf_counter() - start
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    status = str(response.status)
    state.http_requests.inc(method=request.method, route=route, status=status)
    if response.status >= 500:
        state.http_errors.inc(method=request.method, route=route, status=status)
    state.http_seconds.observe(seconds, method=request.method, route=route)
    if state.http_ms is not None:
        state.http_ms.observe(seconds * 1000, method=request.method, route=route)
    response.headers["X-Request-ID"] = cid
    if request.path not in QUIET_PATHS:
        state.log.log(
            "error" if response.status >= 500 else "info",
            "request completed",
            correlation_id=cid,
            method=request.method,
            path=request.path,
            status=response.status,
            duration=round(seconds * 1000, 1),
            ip=request.headers.get("X-Forwarded-For") or request.remote,
        )
    return response


def build_app(state: Standin) -> web.Application:
    """The application for one replica; ``state`` starts and stops with it."""
    app = web.Application(middlewares=[observe])
    app[STATE] = state

    async def on_startup(_: web.Application) -> None:
        await state.start()

    async def on_cleanup(_: web.Application) -> None:
        await state.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    add_routes(app, state.profile)
    return app


def make_logger(profile: Profile) -> JsonLogger:
    """The profile's JSON logger on stdout."""
    return JsonLogger(profile.service, level_case=profile.level_case, correlation_key=profile.correlation_key)


async def serve(config: StandinConfig, log: JsonLogger) -> int:
    """Listen until SIGTERM/SIGINT, then stop accepting, finish in-flight requests, close pools.

    Returns:
        The process exit code: 0 after a graceful shutdown, 1 when the address cannot be bound.
    """
    if config.startup_delay_ms > 0:
        log.info(f"starting up (delay {config.startup_delay_ms}ms)")
        await asyncio.sleep(config.startup_delay_ms / 1000)
    state = Standin(config, log)
    runner = web.AppRunner(build_app(state), access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, config.host, config.port).start()
    except OSError as exc:
        log.fatal(f"Error: listen {exc.strerror or exc} {config.host}:{config.port}", code=exc.errno)
        await runner.cleanup()
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    log.info(
        f"{config.profile.service} listening on http://{config.host}:{config.port}",
        profile=config.profile.name,
        poolSize=config.pool_size,
        maxConcurrency=config.max_concurrency,
        serviceTimeMs=config.service_time_ms,
    )
    await stop.wait()
    log.info(f"{received[0] if received else 'signal'} received: shutting down gracefully")
    await runner.cleanup()
    log.info("shutdown complete")
    return 0


def run(profile: Profile, env: Mapping[str, str]) -> int:
    """Configure from ``env`` and serve; a missing variable is a fatal log line and exit code 1."""
    log = make_logger(profile)
    try:
        config = StandinConfig.from_env(profile, env)
    except MissingConfigError as exc:
        log.fatal(str(exc), variable=exc.variable)
        return 1
    except UsageError as exc:
        log.fatal(str(exc))
        return 1
    return asyncio.run(serve(config, log))
