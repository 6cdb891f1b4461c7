"""``FaultProxyServer``: Toxiproxy's HTTP API (aiohttp) over a collection of proxies, in one asyncio process."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

from aiohttp import web

from drillbook.platform.local.toxiproxy import metrics
from drillbook.platform.local.toxiproxy.addresses import HostPolicy, require_loopback
from drillbook.platform.local.toxiproxy.errors import (
    INVALID_TOXIC_TYPE,
    PROXY_EXISTS,
    PROXY_NOT_FOUND,
    ApiError,
    FaultProxyError,
    bad_request,
    missing_field,
)
from drillbook.platform.local.toxiproxy.metrics import TrafficMetrics
from drillbook.platform.local.toxiproxy.proxy import Proxy
from drillbook.platform.local.toxiproxy.toxics import registry
from drillbook.platform.local.toxiproxy.toxics.base import (
    Toxic,
    parse_attributes,
    parse_stream,
    parse_toxicity,
)

#: The Toxiproxy version whose API this server speaks.
VERSION = "2.9.0"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")


def _error(exc: ApiError) -> web.Response:
    # Go's http.Error sends the JSON body as text/plain with a trailing newline; clients only read the body.
    return web.Response(text=exc.body(), status=exc.status, content_type="text/plain")


async def _body(request: web.Request) -> Any:
    raw = await request.text()
    try:
        return json.loads(raw) if raw.strip() else None
    except json.JSONDecodeError as exc:
        raise bad_request(str(exc)) from exc


def build_toxic(body: object) -> Toxic:
    """Validate a toxic-create body in the order Toxiproxy does and build the toxic."""
    if not isinstance(body, dict):
        raise bad_request(f"expected a JSON object, got {body!r}")
    stream = parse_stream(body.get("stream", "downstream"))
    toxic_type = body.get("type")
    types = registry()
    name = body.get("name") or f"{toxic_type}_{stream}"
    if not isinstance(toxic_type, str) or toxic_type not in types:
        raise INVALID_TOXIC_TYPE
    if not isinstance(name, str):
        raise bad_request(f"name must be a string, got {name!r}")
    cls = types[toxic_type]
    toxicity = parse_toxicity(body.get("toxicity", 1.0))
    return cls(name, stream, toxicity, parse_attributes(toxic_type, cls.fields, body.get("attributes")))


def updated_toxic(current: Toxic, body: object) -> Toxic:
    """A copy of ``current`` with the attributes and toxicity in ``body`` applied over it."""
    if not isinstance(body, dict):
        raise bad_request(f"expected a JSON object, got {body!r}")
    attributes = {**current.attributes, **parse_attributes(current.type_name, current.fields, body.get("attributes"))}
    toxicity = parse_toxicity(body.get("toxicity", current.toxicity))
    return type(current)(current.name, current.stream, toxicity, attributes)


def _proxy_input(body: object) -> tuple[str, str, str, bool]:
    if not isinstance(body, dict):
        raise bad_request(f"expected a JSON object, got {body!r}")
    name, listen, upstream = body.get("name") or "", body.get("listen") or "", body.get("upstream") or ""
    enabled = body.get("enabled", True)
    if not isinstance(name, str) or not name:
        raise missing_field("name")
    if not isinstance(upstream, str) or not upstream:
        raise missing_field("upstream")
    if not isinstance(listen, str):
        raise bad_request(f"listen must be a string, got {listen!r}")
    if not isinstance(enabled, bool):
        raise bad_request(f"enabled must be true or false, got {enabled!r}")
    return name, listen or "127.0.0.1:0", upstream, enabled


class FaultProxyServer:
    """The Toxiproxy-compatible API and its proxies; ``await start()`` / ``await stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8474, *, policy: HostPolicy | None = None) -> None:
        """Describe the server; ``port`` 0 picks a free port at start.

        Args:
            host: loopback address of the API.
            port: API port.
            policy: how proxies' listen and upstream hosts map onto loopback (wildcards, Service names).

        Raises:
            FaultProxyError: ``host`` is not a loopback address.
        """
        try:
            require_loopback(host, "host")
        except ApiError as exc:
            raise FaultProxyError(exc.message) from exc
        self.policy = policy or HostPolicy()
        self.host = host
        self.port = port
        self.proxies: dict[str, Proxy] = {}
        self.metrics = TrafficMetrics()
        self._lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Serve the API on ``host:port``."""
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(
            [
                web.get("/version", self._version),
                web.get("/metrics", self._metrics),
                web.post("/reset", self._reset),
                web.get("/proxies", self._proxy_index),
                web.post("/proxies", self._proxy_create),
                web.post("/populate", self._populate),
                web.get("/proxies/{proxy}", self._proxy_show),
                web.post("/proxies/{proxy}", self._proxy_update),
                web.patch("/proxies/{proxy}", self._proxy_update),
                web.delete("/proxies/{proxy}", self._proxy_delete),
                web.get("/proxies/{proxy}/toxics", self._toxic_index),
                web.post("/proxies/{proxy}/toxics", self._toxic_create),
                web.get("/proxies/{proxy}/toxics/{toxic}", self._toxic_show),
                web.post("/proxies/{proxy}/toxics/{toxic}", self._toxic_update),
                web.patch("/proxies/{proxy}/toxics/{toxic}", self._toxic_update),
                web.delete("/proxies/{proxy}/toxics/{toxic}", self._toxic_delete),
            ]
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise FaultProxyError(
                f"expected to serve the Toxiproxy API on {self.host}:{self.port}, could not: {exc}. "
                "Hint: another toxiproxy may be running there; pick another --port (0 picks a free one)."
            ) from exc
        self._runner = runner
        server = site._server
        if self.port == 0 and isinstance(server, asyncio.Server):
            self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop every proxy (dropping its connections) and the API."""
        for proxy in list(self.proxies.values()):
            await proxy.stop()
        self.proxies.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("User-Agent", "").startswith("Mozilla/"):
            # Toxiproxy refuses browsers so that a web page cannot reconfigure it (CSRF).
            return web.Response(text="User agent not allowed\n", status=403)
        try:
            async with self._lock:
                response: web.StreamResponse = await handler(request)
                return response
        except ApiError as exc:
            return _error(exc)

    def _proxy(self, request: web.Request) -> Proxy:
        proxy = self.proxies.get(request.match_info["proxy"])
        if proxy is None:
            raise PROXY_NOT_FOUND
        return proxy

    async def _version(self, request: web.Request) -> web.Response:
        return web.Response(text=json.dumps({"version": VERSION}) + "\n", content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        """Prometheus text, as Toxiproxy serves it with ``-proxy-metrics`` (always on here)."""
        return web.Response(body=self.metrics.render().encode(), headers={"Content-Type": metrics.CONTENT_TYPE})

    async def _reset(self, request: web.Request) -> web.Response:
        for proxy in self.proxies.values():
            await proxy.start()
            proxy.reset_toxics()
        return web.Response(status=204)

    async def _proxy_index(self, request: web.Request) -> web.Response:
        return _json({name: proxy.to_json() for name, proxy in self.proxies.items()})

    async def _add_proxy(self, name: str, listen: str, upstream: str, enabled: bool) -> Proxy:
        proxy = Proxy(name, listen, upstream, self.policy, self.metrics)
        if enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def _proxy_create(self, request: web.Request) -> web.Response:
        name, listen, upstream, enabled = _proxy_input(await _body(request))
        if name in self.proxies:
            raise PROXY_EXISTS
        proxy = await self._add_proxy(name, listen, upstream, enabled)
        return _json(proxy.to_json(), status=201)

    async def populate(self, items: object) -> list[Proxy]:
        """Create proxies like ``POST /populate``: same-named ones with another listen/upstream are replaced.

        Raises:
            ApiError: an item is invalid (nothing changed) or a listener could not bind.
        """
        async with self._lock:
            return await self._populate_into(items, [])

    async def _populate_into(self, items: object, populated: list[Proxy]) -> list[Proxy]:
        if not isinstance(items, list):
            raise bad_request(f"expected a JSON array of proxies, got {items!r}")
        inputs = [_proxy_input(item) for item in items]  # validate all before changing anything
        for name, listen, upstream, enabled in inputs:
            existing = self.proxies.get(name)
            same_listen = existing is not None and self.policy.listen(existing.listen) == self.policy.listen(listen)
            if existing is not None and same_listen and existing.upstream == upstream:
                populated.append(existing)
                continue
            if existing is not None:
                await existing.stop()
                del self.proxies[name]
            populated.append(await self._add_proxy(name, listen, upstream, enabled))
        return populated

    async def _populate(self, request: web.Request) -> web.Response:
        populated: list[Proxy] = []
        try:
            await self._populate_into(await _body(request), populated)
        except ApiError as exc:
            body_out = {"error": exc.message, "status": exc.status, "proxies": [p.to_json() for p in populated]}
            return _json(body_out, status=exc.status)
        return _json({"proxies": [p.to_json() for p in populated]}, status=201)

    async def _proxy_show(self, request: web.Request) -> web.Response:
        return _json(self._proxy(request).to_json())

    async def _proxy_update(self, request: web.Request) -> web.Response:
        proxy = self._proxy(request)
        body = await _body(request)
        if not isinstance(body, dict):
            raise bad_request(f"expected a JSON object, got {body!r}")
        listen, upstream = body.get("listen", proxy.listen), body.get("upstream", proxy.upstream)
        enabled = body.get("enabled", proxy.enabled)
        if not isinstance(listen, str) or not isinstance(upstream, str) or not isinstance(enabled, bool):
            raise bad_request("listen and upstream must be strings, enabled true or false")
        self.policy.listen(listen)
        self.policy.upstream(upstream)
        if listen != proxy.listen or upstream != proxy.upstream:
            await proxy.stop()
            proxy.listen, proxy.upstream = listen, upstream
        if enabled:
            await proxy.start()
        else:
            await proxy.stop()
        return _json(proxy.to_json())

    async def _proxy_delete(self, request: web.Request) -> web.Response:
        proxy = self._proxy(request)
        await proxy.stop()
        del self.proxies[proxy.name]
        return web.Response(status=204)

    async def _toxic_index(self, request: web.Request) -> web.Response:
        return _json(self._proxy(request).to_json()["toxics"])

    async def _toxic_create(self, request: web.Request) -> web.Response:
        proxy = self._proxy(request)
        toxic = build_toxic(await _body(request))
        proxy.add_toxic(toxic)
        return _json(toxic.to_json())

    async def _toxic_show(self, request: web.Request) -> web.Response:
        return _json(self._proxy(request).find_toxic(request.match_info["toxic"]).to_json())

    async def _toxic_update(self, request: web.Request) -> web.Response:
        proxy = self._proxy(request)
        current = proxy.find_toxic(request.match_info["toxic"])
        toxic = updated_toxic(current, await _body(request))
        proxy.replace_toxic(toxic)
        return _json(toxic.to_json())

    async def _toxic_delete(self, request: web.Request) -> web.Response:
        self._proxy(request).remove_toxic(request.match_info["toxic"])
        return web.Response(status=204)


async def serve_until_signalled(server: FaultProxyServer, proxies: object | None = None) -> None:
    """Start ``server``, create ``proxies`` (a populate body) and serve until SIGTERM or SIGINT; then stop.

    Raises:
        ApiError: ``proxies`` is invalid or a listener could not bind.
    """
    await server.start()
    try:
        if proxies is not None:
            await server.populate(proxies)
        print(f"drillbook toxiproxy: API listening on {server.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await server.stop()


def run_until_signalled(server: FaultProxyServer, proxies: object | None = None) -> None:
    """Run :func:`serve_until_signalled` in a fresh event loop, on uvloop where it is installed.

    The relay's cost is event-loop work per read; uvloop more than doubles proxied redis-benchmark throughput
    over the default loop (bench/bench_toxiproxy.py).

    Raises:
        ApiError: ``proxies`` is invalid or a listener could not bind.
    """
    try:
        import uvloop
    except ImportError:  # an image's Python without it (a kind seed image): the default loop, slower but the same
        asyncio.run(serve_until_signalled(server, proxies))
        return
    uvloop.run(serve_until_signalled(server, proxies))
