"""Garbage collection and scheduling: dependents of deleted owners go; unbound pods get the node."""

from __future__ import annotations

from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers.common import NODE_NAME
from drillbook.platform.local.kube.store import json_copy

JsonObj = dict[str, Any]
DEPENDENT_KINDS = ("replicasets", "pods", "controllerrevisions", "jobs")  # pods also of RCs and DaemonSets


def collect(api: Api) -> None:
    """Delete objects whose every owner is gone (background propagation)."""
    uids = api.store.all_uids()
    for resource in DEPENDENT_KINDS:
        for obj in api.store.view(resource):
            refs = obj["metadata"].get("ownerReferences") or []
            if refs and not any(r.get("uid") in uids for r in refs) and not obj["metadata"].get("deletionTimestamp"):
                api.delete(resource, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def schedule(api: Api) -> None:
    """Bind every unscheduled pod to the single node, with upstream's Scheduled event."""
    for stored in api.store.view("pods"):
        if (stored.get("spec") or {}).get("nodeName") or stored["metadata"].get("deletionTimestamp"):
            continue
        pod = json_copy(stored)
        meta = pod["metadata"]
        pod["spec"]["nodeName"] = NODE_NAME
        bound = api.store.update("pods", pod)
        api.events.record(
            bound,
            "Normal",
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {NODE_NAME}",
            "default-scheduler",
        )
