"""HTTP routes: discovery, CRUD, watch and subresources, parsed from the path by hand (no route-order traps)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from drillbook.platform.local.kube import discovery, portforward, protobuf, reviews, streams, tables
from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.patch import APPLY_PATCH
from drillbook.platform.local.kube.resources import Resource, lookup
from drillbook.platform.local.kube.selectors import field_predicate, label_predicate, selector_string
from drillbook.platform.local.kube.status import ApiStatusError, bad_request, not_found

JsonObj = dict[str, Any]
log = logging.getLogger(__name__)
API_KEY: web.AppKey[Api] = web.AppKey("api", Api)
CLOSING_KEY: web.AppKey[asyncio.Event] = web.AppKey("closing", asyncio.Event)


@dataclass
class Target:
    """What a resource path addresses."""

    res: Resource
    namespace: str | None
    name: str | None
    sub: str | None


def encode_json(body: Any) -> str:
    """JSON as the API server writes it: compact, ending in a newline (Go's ``json.Encoder``)."""
    return json.dumps(body, separators=(",", ":")) + "\n"


def json_response(body: Any, status: int = 200) -> web.Response:
    """A JSON response with the API's content type."""
    return web.Response(text=encode_json(body), status=status, content_type="application/json")


def status_response(exc: ApiStatusError) -> web.Response:
    """An error as a ``Status`` body."""
    return json_response(exc.to_status(), exc.code)


def _parse(group: str, version: str, tail: str) -> Target:
    segs = [s for s in tail.split("/") if s]
    if not segs:
        raise not_found("resource", tail)
    namespace = None
    if segs[0] == "namespaces" and len(segs) >= 3 and lookup(group, version, segs[2]) is not None:
        namespace, segs = segs[1], segs[2:]
    res = lookup(group, version, segs[0])
    if res is None or len(segs) > 3:
        raise ApiStatusError(404, "the server could not find the requested resource", reason="NotFound")
    return Target(res, namespace, segs[1] if len(segs) > 1 else None, segs[2] if len(segs) > 2 else None)


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    ctype = request.headers.get("Content-Type", "")
    if ctype.startswith(protobuf.PROTOBUF):
        return protobuf.decode(raw)
    if not raw:
        return {}
    try:
        if ctype.startswith(APPLY_PATCH) or ctype.startswith("application/yaml"):
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(f"the request body is not valid JSON or YAML: {exc}") from exc


def _filtered(request: web.Request, objs: list[JsonObj]) -> list[JsonObj]:
    labels = label_predicate(request.query.get("labelSelector"))
    fields = field_predicate(request.query.get("fieldSelector"))
    return [o for o in objs if labels(o["metadata"].get("labels") or {}) and fields(o)]


def _render(request: web.Request, target: Target, obj: JsonObj) -> JsonObj:
    api: Api = request.app[API_KEY]
    if _wants_table(request):
        include = request.query.get("includeObject", "Metadata")
        return tables.table(target.res.kind, [obj], resource_version=api.store.resource_version, include=include)
    return obj


async def handle_resource(request: web.Request) -> web.StreamResponse:
    """Every ``/api/v1/...`` and ``/apis/<g>/<v>/...`` resource request."""
    group = request.match_info.get("group", "")
    version = request.match_info["version"]
    try:
        target = _parse(group, version, request.match_info["tail"])
        return await _dispatch(request, target)
    except ApiStatusError as exc:
        return status_response(exc)
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as exc:  # a bug must still answer like an API server, and leave a trace in the log
        log.exception("internal error serving %s %s", request.method, request.path)
        return status_response(ApiStatusError(500, f"localkube internal error: {exc!r}", reason="InternalError"))


async def _dispatch(request: web.Request, t: Target) -> web.StreamResponse:
    api: Api = request.app[API_KEY]
    method = request.method
    ns = t.namespace or ("" if not t.res.namespaced else "default")
    if t.sub in ("log", "exec", "attach"):
        if t.res.name != "pods" or t.name is None:
            raise not_found(t.res.name, t.name or "")
        if t.sub == "log":
            return await streams.logs(request, api, ns, t.name)
        if t.sub == "attach":
            return await streams.attach_ws(request, api, ns, t.name)
        return await streams.exec_ws(request, api, ns, t.name)
    if t.sub == "scale":
        return await _scale(request, api, t, ns)
    if t.sub == "portforward":
        if t.res.name != "pods" or t.name is None:
            raise not_found(t.res.name, t.name or "")
        return await portforward.serve(request, api, ns, t.name)
    if t.res.kind in reviews.REVIEW_KINDS:
        if method != "POST" or t.name is not None:
            raise ApiStatusError(405, f"the server does not allow this method on the requested resource ({method})")
        return json_response(reviews.answer(t.res, await _body(request)), 201)
    if t.sub not in (None, "status"):
        raise ApiStatusError(404, "the server could not find the requested resource", reason="NotFound")
    if method == "GET":
        if t.name is None:
            if request.query.get("watch") in ("true", "1"):
                return await _watch(request, api, t)
            return _list(request, api, t)
        obj = api.store.get(t.res.name, ns if t.res.namespaced else "", t.name)
        if obj is None:
            raise not_found(t.res.name, t.name, t.res.group)
        return json_response(_render(request, t, obj))
    if method == "POST" and t.name is None:
        dry = request.query.get("dryRun") == "All"
        created = api.create(t.res.name, await _body(request), namespace=t.namespace, dry_run=dry)
        return json_response(created, 201)
    if method == "PUT" and t.name is not None:
        return json_response(api.replace(t.res.name, ns, t.name, await _body(request), sub=t.sub))
    if method == "PATCH" and t.name is not None:
        ctype = request.headers.get("Content-Type", "")
        body = await _body(request)
        if ctype.startswith(APPLY_PATCH) and api.store.get(t.res.name, ns if t.res.namespaced else "", t.name) is None:
            return json_response(api.create(t.res.name, body, namespace=t.namespace), 201)
        dry = request.query.get("dryRun") == "All"
        return json_response(api.patch(t.res.name, ns, t.name, body, ctype, sub=t.sub, dry_run=dry))
    if method == "DELETE":
        options = await _body(request)
        if "gracePeriodSeconds" in request.query:
            options["gracePeriodSeconds"] = int(request.query["gracePeriodSeconds"])
        if "propagationPolicy" in request.query:
            options["propagationPolicy"] = request.query["propagationPolicy"]
        if t.name is not None:
            if request.query.get("dryRun") == "All":
                current = api.store.get(t.res.name, ns if t.res.namespaced else "", t.name)
                if current is None:
                    raise not_found(t.res.name, t.name, t.res.group)
                return json_response(current)
            return json_response(api.delete(t.res.name, ns, t.name, options))
        doomed = _filtered(request, api.store.list(t.res.name, t.namespace))
        deleted = [
            api.delete(t.res.name, o["metadata"].get("namespace", ""), o["metadata"]["name"], options) for o in doomed
        ]
        return json_response(_list_body(t.res, deleted, api.store.resource_version))
    raise ApiStatusError(405, f"the server does not allow this method on the requested resource ({method})")


def _list_body(res: Resource, items: list[JsonObj], rv: str) -> JsonObj:
    return {
        "kind": f"{res.kind}List",
        "apiVersion": res.api_version,
        "metadata": {"resourceVersion": rv},
        "items": items,
    }


def _list(request: web.Request, api: Api, t: Target) -> web.Response:
    rv = api.store.resource_version
    items = _filtered(request, api.store.list(t.res.name, t.namespace if t.res.namespaced else None))
    if _wants_table(request):
        include = request.query.get("includeObject", "Metadata")
        return json_response(tables.table(t.res.kind, items, resource_version=rv, include=include))
    return json_response(_list_body(t.res, items, rv))


async def _watch(request: web.Request, api: Api, t: Target) -> web.StreamResponse:
    closing = request.app[CLOSING_KEY]
    timeout = float(request.query.get("timeoutSeconds") or 1800)
    deadline = time.monotonic() + timeout
    labels = label_predicate(request.query.get("labelSelector"))
    fields = field_predicate(request.query.get("fieldSelector"))
    table = _wants_table(request)
    include = request.query.get("includeObject", "Metadata")
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    try:
        watcher, replay = api.store.watch(t.res.name, request.query.get("resourceVersion"))
    except ApiStatusError as exc:
        if exc.code != 410:
            raise
        await resp.prepare(request)
        await resp.write(encode_json({"type": "ERROR", "object": exc.to_status()}).encode())
        return resp
    await resp.prepare(request)

    seen: set[tuple[str, str]] = set()  # objects the client currently believes match

    async def send(type_: str, obj: JsonObj) -> None:
        meta = obj["metadata"]
        if t.namespace is not None and t.res.namespaced and meta.get("namespace") != t.namespace:
            return
        key = (meta.get("namespace", ""), meta["name"])
        matches = labels(meta.get("labels") or {}) and fields(obj)
        # Like the API server: an object that stops matching the selector is DELETED for this watcher,
        # and one that starts matching is ADDED.
        if not matches:
            if key not in seen or type_ == "DELETED":
                seen.discard(key)
                return
            type_ = "DELETED"
            seen.discard(key)
        elif type_ == "DELETED":
            seen.discard(key)
        else:
            if type_ == "MODIFIED" and key not in seen:
                type_ = "ADDED"
            seen.add(key)
        body = (
            tables.table(t.res.kind, [obj], resource_version=meta["resourceVersion"], include=include) if table else obj
        )
        await resp.write(encode_json({"type": type_, "object": body}).encode())

    for current in api.store.list(t.res.name, t.namespace if t.res.namespaced else None):
        if labels(current["metadata"].get("labels") or {}) and fields(current):
            seen.add((current["metadata"].get("namespace", ""), current["metadata"]["name"]))
    try:
        for event in replay:
            await send(event.type, event.obj)
        while not closing.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                event = await asyncio.wait_for(watcher.queue.get(), min(remaining, 0.5))
            except TimeoutError:
                continue
            await send(event.type, event.obj)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        api.store.unwatch(watcher)
    return resp


async def _scale(request: web.Request, api: Api, t: Target, ns: str) -> web.Response:
    if t.name is None:
        raise not_found(t.res.name, "")
    obj = api.store.get(t.res.name, ns, t.name)
    if obj is None:
        raise not_found(t.res.name, t.name, t.res.group)
    if request.method in ("PATCH", "PUT"):
        body = await _body(request)
        scale = _scale_of(obj)
        if request.method == "PUT":
            replicas = (body.get("spec") or {}).get("replicas", 0)
        else:
            from drillbook.platform.local.kube.patch import apply_patch

            replicas = (apply_patch(scale, body, request.headers.get("Content-Type", "")).get("spec") or {}).get(
                "replicas", 0
            )
        obj = api.patch(t.res.name, ns, t.name, {"spec": {"replicas": int(replicas)}}, "application/merge-patch+json")
    return json_response(_scale_of(obj))


def _scale_of(obj: JsonObj) -> JsonObj:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": selector_string((obj.get("spec") or {}).get("selector")),
        },
    }


# -- discovery --------------------------------------------------------------------------------------------------------
async def version(_request: web.Request) -> web.Response:
    """``GET /version``."""
    return json_response(discovery.VERSION)


async def api_root(_request: web.Request) -> web.Response:
    """``GET /api``."""
    return json_response(discovery.api_versions())


async def apis_root(_request: web.Request) -> web.Response:
    """``GET /apis``."""
    return json_response(discovery.api_groups())


async def group_resources(request: web.Request) -> web.Response:
    """``GET /api/v1`` and ``GET /apis/<group>/<version>``."""
    body = discovery.resource_list(request.match_info.get("group", ""), request.match_info["version"])
    if body is None:
        return status_response(ApiStatusError(404, "the server could not find the requested resource"))
    return json_response(body)


async def group_info(request: web.Request) -> web.Response:
    """``GET /apis/<group>``."""
    name = request.match_info["group"]
    for group in discovery.api_groups()["groups"]:
        if group["name"] == name:
            return json_response({"kind": "APIGroup", "apiVersion": "v1", **group})
    return status_response(ApiStatusError(404, "the server could not find the requested resource"))


async def openapi_root(_request: web.Request) -> web.Response:
    """``GET /openapi/v3``."""
    return json_response(discovery.openapi_root())


async def openapi_doc(request: web.Request) -> web.Response:
    """``GET /openapi/v3/<path>``."""
    doc = discovery.openapi_document(request.match_info["path"])
    if doc is None:
        return status_response(ApiStatusError(404, "the server could not find the requested resource"))
    return json_response(doc)


async def healthz(_request: web.Request) -> web.Response:
    """``/readyz``, ``/livez``, ``/healthz``."""
    return web.Response(text="ok")


def add_routes(app: web.Application) -> None:
    """Register every route on ``app``; metrics and proxy routes come before the generic group routes."""
    from drillbook.platform.local.kube import metrics, proxy

    r = app.router
    r.add_get("/version", version)
    for path in ("/readyz", "/livez", "/healthz"):
        r.add_get(path, healthz)
    r.add_get("/api", api_root)
    r.add_get("/apis", apis_root)
    r.add_get("/openapi/v3", openapi_root)
    r.add_get("/openapi/v3/{path:.+}", openapi_doc)
    metrics.add_routes(app)
    proxy.add_routes(app)
    r.add_get("/api/{version}", group_resources)
    r.add_get("/apis/{group}", group_info)
    r.add_get("/apis/{group}/{version}", group_resources)
    r.add_route("*", "/api/{version}/{tail:.+}", handle_resource)
    r.add_route("*", "/apis/{group}/{version}/{tail:.+}", handle_resource)
