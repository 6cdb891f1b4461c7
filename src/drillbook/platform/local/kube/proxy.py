"""The proxy subresources, as a real API server serves them: ``pods/…/proxy``, ``services/…/proxy``, ``nodes/…/proxy``.

* ``/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`` forwards to ``http://podIP:PORT/PATH`` (``NAME`` alone: the
  first container port, as upstream picks it; ``http:NAME:PORT`` names the scheme, as upstream parses it);
* ``/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`` forwards to one ready endpoint of the Service's port
  (named or numbered; none: the first), chosen at random as upstream does;
* ``/api/v1/nodes/NODE/proxy/metrics/cadvisor`` is the node's kubelet cAdvisor endpoint: container CPU and memory
  of localkube's pods, metered from its state directory by drillbook's cAdvisor-style meter
  (:class:`~drillbook.platform.prometheus.cadvisor.ContainerMeter`), sampled on a thread from the first scrape on.

A real cluster's Prometheus reaches pods exactly this way when pod IPs are not routable from where it runs, so
localkube serving these lets that mode be tried here. localkube's pods live on loopback, which a real API server
would refuse to proxy to; here that is the only kind of address there is.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from yarl import URL

from drillbook.platform.local.kube.status import ApiStatusError, bad_request, not_found

if TYPE_CHECKING:
    from drillbook.platform.prometheus.exporter import Sampler

JsonObj = dict[str, Any]

FORWARD_TIMEOUT_S = 30.0
"""How long one proxied request may take (upstream's default dial-and-response budget is of this order)."""

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
     "upgrade", "host", "content-length", "authorization"}
)  # fmt: skip


class NodeMetrics:
    """The kubelet's cAdvisor text for the node, sampled on a thread started by the first scrape."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._sampler: Sampler | None = None
        self._lock = asyncio.Lock()

    async def cadvisor(self) -> bytes:
        """The latest container metrics (the first call takes the first reading, off the event loop)."""
        async with self._lock:
            if self._sampler is None:
                from drillbook.platform.prometheus.cadvisor import ContainerMeter
                from drillbook.platform.prometheus.exporter import Sampler

                sampler = Sampler(ContainerMeter(self.state_dir).render, name="localkube-cadvisor")
                await asyncio.to_thread(sampler.start)
                self._sampler = sampler
        return self._sampler.latest

    def stop(self) -> None:
        """Stop sampling."""
        if self._sampler is not None:
            self._sampler.stop()


NODE_METRICS_KEY: web.AppKey[NodeMetrics] = web.AppKey("node_metrics", NodeMetrics)


def split_name(segment: str, resource: str) -> tuple[str, str]:
    """``[scheme:]name[:port]`` → (name, port); only ``http`` is served (localkube's pods speak plain HTTP).

    Raises:
        ApiStatusError: 400 for more than three parts or another scheme.
    """
    parts = segment.split(":")
    if len(parts) == 3:
        scheme, name, port = parts
        if scheme != "http":
            raise bad_request(f"invalid {resource} request {segment!r}: localkube's pods serve only http, not {scheme}")
        return name, port
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 1:
        return parts[0], ""
    raise bad_request(f"invalid {resource} request {segment!r}: expected [scheme:]name[:port]")


def _number(port: str, what: str) -> int:
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise bad_request(f"invalid port {port!r} for {what}: a pod's proxy needs a port number (1-65535)")
    return int(port)


def pod_address(pod: JsonObj, port: str) -> tuple[str, int]:
    """Where ``pods/NAME:PORT/proxy`` goes: the pod's IP and the port given, else its first container port, else 80.

    Raises:
        ApiStatusError: 400 for a port that is not a number, 503 for a pod without an IP (not started yet).
    """
    name = pod["metadata"]["name"]
    ip = (pod.get("status") or {}).get("podIP")
    if not ip:
        raise ApiStatusError(503, f'pod "{name}" has no IP yet (phase {pod.get("status", {}).get("phase")})')
    if port:
        return str(ip), _number(port, f'pod "{name}"')
    for container in (pod.get("spec") or {}).get("containers") or []:
        for declared in container.get("ports") or []:
            return str(ip), int(declared["containerPort"])
    return str(ip), 80


def service_address(service: JsonObj, endpoints: JsonObj | None, port: str) -> tuple[str, int]:
    """Where ``services/NAME:PORT/proxy`` goes: a random ready endpoint of that Service port (by name or number).

    Raises:
        ApiStatusError: 404 for a port the Service does not have, 503 when no endpoint of it is ready.
    """
    name = service["metadata"]["name"]
    ports = (service.get("spec") or {}).get("ports") or []
    chosen = next((p for p in ports if port in (p.get("name", ""), str(p.get("port")))), None) if port else None
    if chosen is None and not port and ports:
        chosen = ports[0]
    if chosen is None:
        known = [p.get("name") or p.get("port") for p in ports]
        raise ApiStatusError(404, f'service "{name}" has no port {port!r}; it has {known}', reason="NotFound")
    backends: list[tuple[str, int]] = []
    for subset in (endpoints or {}).get("subsets") or []:
        subset_ports = subset.get("ports") or []
        matching = [p for p in subset_ports if p.get("name", "") == chosen.get("name", "")] or subset_ports[:1]
        for address in subset.get("addresses") or []:
            backends.extend((str(address["ip"]), int(p["port"])) for p in matching[:1])
    if not backends:
        raise ApiStatusError(503, f'no endpoints available for service "{name}"', reason="ServiceUnavailable")
    return random.choice(backends)  # load spreading, as upstream does; not security


async def forward(request: web.Request, host: str, port: int, path: str) -> web.StreamResponse:
    """Send the request on to ``http://host:port/path`` (query and body kept) and stream the answer back."""
    query = f"?{request.query_string}" if request.query_string else ""
    url = URL(f"http://{host}:{port}/{path.lstrip('/')}{query}", encoded=True)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    body = await request.read()
    timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session,
            session.request(request.method, url, headers=headers, data=body or None, allow_redirects=False) as upstream,
        ):
            answer = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    answer.headers.add(key, value)
            await answer.prepare(request)
            async for chunk in upstream.content.iter_chunked(65536):
                await answer.write(chunk)
            await answer.write_eof()
            return answer
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise ApiStatusError(
            503, f"error trying to reach service: dial tcp {host}:{port}: {exc}", reason="ServiceUnavailable"
        ) from exc


def _status(exc: ApiStatusError) -> web.Response:
    from drillbook.platform.local.kube.routes import status_response

    return status_response(exc)


async def pods(request: web.Request) -> web.StreamResponse:
    """``/api/v1/namespaces/NS/pods/NAME[:PORT]/proxy[/PATH]``."""
    from drillbook.platform.local.kube.routes import API_KEY

    namespace = request.match_info["namespace"]
    try:
        name, port = split_name(request.match_info["name"], "pod")
        pod = request.app[API_KEY].store.get("pods", namespace, name)
        if pod is None:
            raise not_found("pods", name)
        host, number = pod_address(pod, port)
        return await forward(request, host, number, request.match_info.get("path", ""))
    except ApiStatusError as exc:
        return _status(exc)


async def services(request: web.Request) -> web.StreamResponse:
    """``/api/v1/namespaces/NS/services/NAME[:PORT]/proxy[/PATH]``."""
    from drillbook.platform.local.kube.routes import API_KEY

    store = request.app[API_KEY].store
    namespace = request.match_info["namespace"]
    try:
        name, port = split_name(request.match_info["name"], "service")
        service = store.get("services", namespace, name)
        if service is None:
            raise not_found("services", name)
        host, number = service_address(service, store.get("endpoints", namespace, name), port)
        return await forward(request, host, number, request.match_info.get("path", ""))
    except ApiStatusError as exc:
        return _status(exc)


NODE_PATHS = ("metrics/cadvisor", "healthz")
"""What localkube's kubelet serves through the node proxy."""


async def nodes(request: web.Request) -> web.StreamResponse:
    """``/api/v1/nodes/NODE/proxy/metrics/cadvisor`` (and ``healthz``); any other path is the kubelet's 404."""
    from drillbook.platform.local.kube.routes import API_KEY

    name = request.match_info["name"]
    if request.app[API_KEY].store.get("nodes", "", name) is None:
        return _status(not_found("nodes", name))
    path = request.match_info.get("path", "").strip("/")
    if request.method != "GET":
        return _status(ApiStatusError(405, f"localkube's kubelet answers only GET on {path or '/'}"))
    if path == "healthz":
        return web.Response(text="ok")
    if path != "metrics/cadvisor":
        served = ", ".join(f"/{p}" for p in NODE_PATHS)
        return web.Response(status=404, text=f"404 page not found (localkube's kubelet serves {served} here)\n")
    body = await request.app[NODE_METRICS_KEY].cadvisor()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def _stop_node_metrics(app: web.Application) -> None:
    with contextlib.suppress(KeyError):
        await asyncio.to_thread(app[NODE_METRICS_KEY].stop)


def add_routes(app: web.Application) -> None:
    """Register the proxy routes (before the generic ``/api/{version}/…`` route, which would take them)."""
    r = app.router
    for resource, handler in (("pods", pods), ("services", services)):
        base = f"/api/v1/namespaces/{{namespace}}/{resource}/{{name}}/proxy"
        r.add_route("*", base, handler)
        r.add_route("*", base + "/{path:.*}", handler)
    r.add_route("*", "/api/v1/nodes/{name}/proxy", nodes)
    r.add_route("*", "/api/v1/nodes/{name}/proxy/{path:.*}", nodes)
    app.on_cleanup.append(_stop_node_metrics)
