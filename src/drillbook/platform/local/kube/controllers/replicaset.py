"""ReplicaSet and ReplicationController controllers: keep ``spec.replicas`` pods alive, report ready counts."""

from __future__ import annotations

from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers.common import owned_by, pod_active, pod_from_template, pod_ready, suffix
from drillbook.platform.local.kube.store import parse_time

JsonObj = dict[str, Any]


def _deletion_rank(pod: JsonObj) -> tuple[int, float]:
    """Delete unscheduled, then pending, then not-ready pods first; newest first within a class."""
    status = pod.get("status") or {}
    scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    running = 1 if status.get("phase") == "Running" else 0
    ready = 1 if pod_ready(pod) else 0
    created = parse_time(pod["metadata"].get("creationTimestamp"))
    return (scheduled + running + ready, -(created.timestamp() if created else 0.0))


def sync(api: Api, resource: str = "replicasets", component: str = "replicaset-controller") -> None:
    """Reconcile every ReplicaSet (or, with ``resource="replicationcontrollers"``, ReplicationController) once."""
    all_pods = api.store.view("pods")
    for rs in api.store.list(resource):
        meta = rs["metadata"]
        pods = [p for p in all_pods if p["metadata"]["namespace"] == meta["namespace"] and owned_by(p, meta["uid"])]
        active = [p for p in pods if pod_active(p)]
        want = int((rs.get("spec") or {}).get("replicas", 1))
        if len(active) < want:
            template = (rs.get("spec") or {}).get("template") or {}
            for _ in range(want - len(active)):
                name = f"{meta['name']}-{suffix()}"
                pod = pod_from_template(template, rs, name, {})
                api.create("pods", pod, namespace=meta["namespace"])
                api.events.record(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}", component)
        elif len(active) > want:
            doomed = sorted(active, key=_deletion_rank)[: len(active) - want]
            for pod in doomed:
                api.delete("pods", meta["namespace"], pod["metadata"]["name"])
                api.events.record(
                    rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component
                )
        fresh = [p for p in api.store.view("pods", meta["namespace"]) if owned_by(p, meta["uid"]) and pod_active(p)]
        ready = sum(1 for p in fresh if pod_ready(p))
        status = {
            "replicas": len(fresh),
            "fullyLabeledReplicas": len(fresh),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta.get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v or k == "replicas"}
        if rs.get("status") != status:
            rs["status"] = status
            api.store.update(resource, rs)
