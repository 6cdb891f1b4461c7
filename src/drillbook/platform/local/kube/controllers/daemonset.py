"""DaemonSet controller: one pod on the (single) node, replaced when the template changes."""

from __future__ import annotations

from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers.common import (
    NODE_NAME,
    owned_by,
    pod_active,
    pod_from_template,
    pod_ready,
    suffix,
    template_hash,
)

JsonObj = dict[str, Any]
HASH_LABEL = "controller-revision-hash"
COMPONENT = "daemonset-controller"


def _node_affinity() -> JsonObj:
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [NODE_NAME]}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def sync(api: Api) -> None:
    """Reconcile every DaemonSet once: create the node's pod, roll it when the template hash changes."""
    all_pods = api.store.view("pods")
    for ds in api.store.list("daemonsets"):
        meta = ds["metadata"]
        template = (ds.get("spec") or {}).get("template") or {}
        revision = template_hash(template)
        active = [
            p
            for p in all_pods
            if p["metadata"]["namespace"] == meta["namespace"] and owned_by(p, meta["uid"]) and pod_active(p)
        ]
        stale = [p for p in active if (p["metadata"].get("labels") or {}).get(HASH_LABEL) != revision]
        for pod in stale:
            api.delete("pods", meta["namespace"], pod["metadata"]["name"])
            api.events.record(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", COMPONENT)
        current = [p for p in active if p not in stale]
        if not current:
            name = f"{meta['name']}-{suffix()}"
            pod = pod_from_template(template, ds, name, {HASH_LABEL: revision})
            # Upstream pins the pod to its node by affinity and lets the scheduler bind it; so does the scheduler here.
            pod["spec"]["affinity"] = _node_affinity()
            api.create("pods", pod, namespace=meta["namespace"])
            api.events.record(ds, "Normal", "SuccessfulCreate", f"Created pod: {name}", COMPONENT)
        fresh = [p for p in api.store.view("pods", meta["namespace"]) if owned_by(p, meta["uid"]) and pod_active(p)]
        updated = [p for p in fresh if (p["metadata"].get("labels") or {}).get(HASH_LABEL) == revision]
        ready = sum(1 for p in fresh if pod_ready(p))
        status = {
            "currentNumberScheduled": min(len(fresh), 1),
            "desiredNumberScheduled": 1,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "numberUnavailable": max(1 - ready, 0),
            "updatedNumberScheduled": len(updated),
            "observedGeneration": meta.get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v or k in ("currentNumberScheduled", "desiredNumberScheduled",
                  "numberMisscheduled", "numberReady")}  # fmt: skip
        if ds.get("status") != status:
            ds["status"] = status
            api.store.update("daemonsets", ds)
