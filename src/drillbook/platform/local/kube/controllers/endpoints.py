"""Endpoints controller: each selector Service's Endpoints lists its pods' IPs (ready and not ready)."""

from __future__ import annotations

from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers.common import pod_ready
from drillbook.platform.local.kube.store import now_rfc3339

JsonObj = dict[str, Any]
TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"


def _target_port(port: JsonObj, pod: JsonObj) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def subsets_for(service: JsonObj, pods: list[JsonObj]) -> list[JsonObj]:
    """The Endpoints subsets of a service over the given (selected) pods."""
    groups: dict[tuple[tuple[str, int, str], ...], JsonObj] = {}
    for pod in sorted(pods, key=lambda p: (p.get("status") or {}).get("podIP", "")):
        ip = (pod.get("status") or {}).get("podIP")
        if not ip or pod["metadata"].get("deletionTimestamp"):
            continue
        ports: list[JsonObj] = []
        for sp in service["spec"].get("ports") or []:
            number = _target_port(sp, pod)
            if number is None:
                continue
            entry: JsonObj = {"port": number, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                entry["name"] = sp["name"]
            ports.append(entry)
        key = tuple((p.get("name", ""), p["port"], p["protocol"]) for p in ports)
        subset = groups.setdefault(key, {"ports": ports} if ports else {})
        address = {
            "ip": ip,
            "nodeName": (pod.get("spec") or {}).get("nodeName", "localkube"),
            "targetRef": {
                "kind": "Pod",
                "namespace": pod["metadata"]["namespace"],
                "name": pod["metadata"]["name"],
                "uid": pod["metadata"]["uid"],
            },
        }
        subset.setdefault("addresses" if pod_ready(pod) else "notReadyAddresses", []).append(address)
    return list(groups.values())


def sync(api: Api) -> None:
    """Reconcile the Endpoints of every Service that has a selector."""
    services = api.store.view("services")
    names = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in services}
    for svc in services:
        selector = svc["spec"].get("selector")
        if not selector:
            continue
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        pods = [
            p
            for p in api.store.view("pods", ns)
            if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
        ]
        subsets = subsets_for(svc, pods)
        current = api.store.get("endpoints", ns, name)
        labels = dict(svc["metadata"].get("labels") or {})
        if current is None:
            ep: JsonObj = {
                "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": {TRIGGER: now_rfc3339()}}
            }
            if subsets:
                ep["subsets"] = subsets
            api.create("endpoints", ep, namespace=ns)
        elif (current.get("subsets") or []) != subsets:
            current["subsets"] = subsets
            if not subsets:
                current.pop("subsets")
            current["metadata"].setdefault("annotations", {})[TRIGGER] = now_rfc3339()
            api.store.update("endpoints", current)
    for ep in api.store.view("endpoints"):
        key = (ep["metadata"]["namespace"], ep["metadata"]["name"])
        if key not in names and TRIGGER in (ep["metadata"].get("annotations") or {}):
            api.store.remove("endpoints", *key)
