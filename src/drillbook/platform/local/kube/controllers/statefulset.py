"""StatefulSet controller: ordered pods ``name-0``, ``name-1`` … created and removed one at a time."""

from __future__ import annotations

from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers.common import owned_by, pod_from_template, pod_ready, template_hash

JsonObj = dict[str, Any]
COMPONENT = "statefulset-controller"


def _index(sts_name: str, pod: JsonObj) -> int:
    tail = pod["metadata"]["name"][len(sts_name) + 1 :]
    return int(tail) if tail.isdigit() else -1


def sync(api: Api) -> None:
    """Reconcile every StatefulSet once (OrderedReady semantics, rolling update from the highest ordinal)."""
    for sts in api.store.list("statefulsets"):
        _sync_one(api, sts)


def _sync_one(api: Api, sts: JsonObj) -> None:
    meta, spec = sts["metadata"], sts["spec"]
    ns, name = meta["namespace"], meta["name"]
    revision = f"{name}-{template_hash(spec.get('template') or {})}"
    pods = {_index(name, p): p for p in api.store.list("pods", ns) if owned_by(p, meta["uid"])}
    replicas = int(spec.get("replicas", 1))
    parallel = spec.get("podManagementPolicy") == "Parallel"
    busy = any(p["metadata"].get("deletionTimestamp") for p in pods.values())
    for i in range(replicas):
        pod = pods.get(i)
        if pod is None:
            if busy and not parallel:
                break
            pod_name = f"{name}-{i}"
            labels = {
                "controller-revision-hash": revision,
                "statefulset.kubernetes.io/pod-name": pod_name,
                "apps.kubernetes.io/pod-index": str(i),
            }
            new = pod_from_template(spec.get("template") or {}, sts, pod_name, labels)
            new["spec"]["hostname"] = pod_name
            if spec.get("serviceName"):
                new["spec"]["subdomain"] = spec["serviceName"]
            api.create("pods", new, namespace=ns)
            api.events.record(
                sts, "Normal", "SuccessfulCreate", f"create Pod {pod_name} in StatefulSet {name} successful", COMPONENT
            )
            if not parallel:
                break
            continue
        if (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded") and not pod["metadata"].get(
            "deletionTimestamp"
        ):
            api.delete("pods", ns, pod["metadata"]["name"])
            break
        if not parallel and not pod_ready(pod):
            break
    else:
        extra = sorted((i for i in pods if i >= replicas), reverse=True)
        if extra and not busy:
            victim = pods[extra[0]]["metadata"]["name"]
            api.delete("pods", ns, victim)
            api.events.record(
                sts, "Normal", "SuccessfulDelete", f"delete Pod {victim} in StatefulSet {name} successful", COMPONENT
            )
        elif not busy and all(pod_ready(p) for p in pods.values()):
            stale = sorted(
                (
                    i
                    for i, p in pods.items()
                    if i < replicas and (p["metadata"].get("labels") or {}).get("controller-revision-hash") != revision
                ),
                reverse=True,
            )
            if stale:
                api.delete("pods", ns, pods[stale[0]]["metadata"]["name"])
    _status(api, sts, revision)


def _status(api: Api, sts: JsonObj, revision: str) -> None:
    meta = sts["metadata"]
    pods = [
        p
        for p in api.store.list("pods", meta["namespace"])
        if owned_by(p, meta["uid"]) and not p["metadata"].get("deletionTimestamp")
    ]
    ready = sum(1 for p in pods if pod_ready(p))
    updated = sum(1 for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == revision)
    status = {
        "observedGeneration": meta.get("generation", 1),
        "replicas": len(pods),
        "readyReplicas": ready,
        "currentReplicas": updated,
        "updatedReplicas": updated,
        "availableReplicas": ready,
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }
    status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
    if sts.get("status") != status:
        sts["status"] = status
        api.store.update("statefulsets", sts)
