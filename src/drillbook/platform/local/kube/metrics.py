"""metrics.k8s.io/v1beta1: PodMetrics and NodeMetrics from the kubelet, for ``kubectl top``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from drillbook.platform.local.kube.selectors import field_predicate, label_predicate
from drillbook.platform.local.kube.status import ApiStatusError, not_found
from drillbook.platform.local.kube.store import now_rfc3339

JsonObj = dict[str, Any]
GV = "metrics.k8s.io/v1beta1"


def _usage(cpu_nanocores: int, memory_bytes: int) -> JsonObj:
    return {"cpu": f"{max(cpu_nanocores, 0)}n", "memory": f"{max(memory_bytes, 0) // 1024}Ki"}


def _pod_metrics(request: web.Request, pod: JsonObj) -> JsonObj | None:
    from drillbook.platform.local.kube.routes import API_KEY

    api = request.app[API_KEY]
    meta = pod["metadata"]
    if api.kubelet is None or (pod.get("status") or {}).get("phase") != "Running":
        return None
    try:
        usage = api.kubelet.metrics(meta["namespace"], meta["name"])
    except Exception:  # a pod that just went away has no metrics, like metrics-server
        return None
    return {
        "kind": "PodMetrics",
        "apiVersion": GV,
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "creationTimestamp": now_rfc3339(),
            "labels": meta.get("labels") or {},
        },
        "timestamp": now_rfc3339(),
        "window": "10s",
        "containers": [{"name": n, "usage": _usage(u.cpu_nanocores, u.memory_bytes)} for n, u in usage.items()],
    }


async def pods(request: web.Request) -> web.Response:
    """List or get PodMetrics."""
    from drillbook.platform.local.kube.routes import API_KEY, json_response, status_response

    api = request.app[API_KEY]
    namespace = request.match_info.get("namespace")
    name = request.match_info.get("name")
    labels = label_predicate(request.query.get("labelSelector"))
    fields = field_predicate(request.query.get("fieldSelector"))
    if name is not None:
        pod = api.store.get("pods", namespace or "default", name)
        found = _pod_metrics(request, pod) if pod else None
        if found is None:
            return status_response(not_found("pods.metrics.k8s.io", name))
        return json_response(found)
    items = []
    for pod in api.store.list("pods", namespace):
        if labels(pod["metadata"].get("labels") or {}) and fields(pod):
            metrics = _pod_metrics(request, pod)
            if metrics is not None:
                items.append(metrics)
    return json_response({"kind": "PodMetricsList", "apiVersion": GV, "metadata": {}, "items": items})


async def nodes(request: web.Request) -> web.Response:
    """List or get NodeMetrics (the sum over the node's running pods)."""
    from drillbook.platform.local.kube.routes import API_KEY, json_response, status_response

    api = request.app[API_KEY]
    cpu = mem = 0
    for pod in api.store.list("pods"):
        metrics = _pod_metrics(request, pod)
        for c in (metrics or {}).get("containers", []):
            cpu += int(c["usage"]["cpu"][:-1])
            mem += int(c["usage"]["memory"][:-2]) * 1024
    node = {
        "kind": "NodeMetrics",
        "apiVersion": GV,
        "metadata": {"name": "localkube", "creationTimestamp": now_rfc3339()},
        "timestamp": now_rfc3339(),
        "window": "10s",
        "usage": _usage(cpu, mem),
    }
    name = request.match_info.get("name")
    if name is not None:
        if name != "localkube":
            return status_response(ApiStatusError(404, f'nodemetrics "{name}" not found'))
        return json_response(node)
    return json_response({"kind": "NodeMetricsList", "apiVersion": GV, "metadata": {}, "items": [node]})


def add_routes(app: web.Application) -> None:
    """Register the metrics.k8s.io routes (before the generic /apis/{group}/{version} routes)."""
    base = f"/apis/{GV}"
    app.router.add_get(f"{base}/nodes", nodes)
    app.router.add_get(f"{base}/nodes/{{name}}", nodes)
    app.router.add_get(f"{base}/pods", pods)
    app.router.add_get(f"{base}/namespaces/{{namespace}}/pods", pods)
    app.router.add_get(f"{base}/namespaces/{{namespace}}/pods/{{name}}", pods)
