"""HorizontalPodAutoscaler controller: resource-utilization targets against pod requests, like upstream's."""

from __future__ import annotations

import math
import time
from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers.common import pod_active
from drillbook.platform.local.kube.quantities import parse_quantity
from drillbook.platform.local.kube.selectors import selector_from_match
from drillbook.platform.local.kube.store import now_rfc3339

JsonObj = dict[str, Any]
COMPONENT = "horizontal-pod-autoscaler"
#: Upstream's sync period, scale-down stabilization window and tolerance.
SYNC_S = 15.0
STABILIZATION_S = 300.0
TOLERANCE = 0.1
_SCALABLE = {"Deployment": "deployments", "StatefulSet": "statefulsets", "ReplicaSet": "replicasets"}


class HpaController:
    """Every ``SYNC_S`` (scaled by the time factor), moves each target's replicas toward its utilization target."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._last_sync: dict[str, float] = {}
        self._recommendations: dict[str, list[tuple[float, int]]] = {}

    def sync(self) -> None:
        """Reconcile every HPA whose sync period has passed."""
        now = time.monotonic()
        period = SYNC_S * self.api.time_factor
        for hpa in self.api.store.list("horizontalpodautoscalers"):
            uid = hpa["metadata"]["uid"]
            if now - self._last_sync.get(uid, 0.0) >= period:
                self._last_sync[uid] = now
                self._sync_one(hpa, now)

    def _utilization(self, target: JsonObj, resource: str) -> tuple[int | None, int]:
        """Average utilization (percent of requests) over the target's running pods, and how many were measured."""
        kubelet = self.api.kubelet
        selector = selector_from_match((target.get("spec") or {}).get("selector"))
        used = requested = 0.0
        measured = 0
        for pod in self.api.store.view("pods", target["metadata"]["namespace"]):
            if not pod_active(pod) or not selector(pod["metadata"].get("labels") or {}) or kubelet is None:
                continue
            if (pod.get("status") or {}).get("phase") != "Running":
                continue
            requests = [
                ((c.get("resources") or {}).get("requests") or {}).get(resource)
                for c in pod["spec"].get("containers") or []
            ]
            if any(r is None for r in requests):
                continue
            try:
                usage = kubelet.metrics(pod["metadata"]["namespace"], pod["metadata"]["name"])
            except Exception:  # a pod that just went away has no metrics
                continue
            cpu = resource == "cpu"
            requested += sum(parse_quantity(r) for r in requests)
            used += sum((u.cpu_nanocores / 1e9) if cpu else u.memory_bytes for u in usage.values())
            measured += 1
        if not measured or requested <= 0:
            return None, 0
        return round(100 * used / requested), measured

    def _sync_one(self, hpa: JsonObj, now: float) -> None:
        spec = hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        resource = _SCALABLE.get(ref.get("kind", ""))
        ns = hpa["metadata"]["namespace"]
        target = self.api.store.get(resource, ns, ref.get("name", "")) if resource else None
        if target is None or resource is None:
            return
        current = int((target.get("spec") or {}).get("replicas", 1))
        proposals: list[int] = []
        metrics_status = []
        for metric in spec.get("metrics") or []:
            res = metric.get("resource") or {}
            goal = (res.get("target") or {}).get("averageUtilization")
            if metric.get("type") != "Resource" or goal is None:
                continue
            utilization, measured = self._utilization(target, res.get("name", "cpu"))
            if utilization is None:
                continue
            metrics_status.append(
                {
                    "type": "Resource",
                    "resource": {"name": res.get("name", "cpu"), "current": {"averageUtilization": utilization}},
                }
            )
            ratio = utilization / float(goal)
            proposals.append(current if abs(ratio - 1.0) <= TOLERANCE else math.ceil(ratio * measured))
        desired = max(proposals) if proposals else current
        low, high = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", current))
        desired = min(max(desired, low), high)
        key = hpa["metadata"]["uid"]
        window = STABILIZATION_S * self.api.time_factor
        history = [(t, r) for t, r in self._recommendations.get(key, []) if now - t <= window] + [(now, desired)]
        self._recommendations[key] = history
        if desired < current:  # scale down only to the highest recommendation in the window, like upstream
            desired = max(r for _t, r in history)
        status: JsonObj = dict(hpa.get("status") or {})
        if desired != current:
            self.api.patch(
                resource,
                ns,
                target["metadata"]["name"],
                {"spec": {"replicas": desired}},
                "application/merge-patch+json",
            )
            reason = "above" if desired > current else "below"
            self.api.events.record(
                hpa,
                "Normal",
                "SuccessfulRescale",
                f"New size: {desired}; reason: All metrics {reason} target",
                COMPONENT,
            )
            status["lastScaleTime"] = now_rfc3339()
        status.update({"currentReplicas": current, "desiredReplicas": desired, "currentMetrics": metrics_status})
        if status != hpa.get("status"):
            hpa["status"] = status
            self.api.store.update("horizontalpodautoscalers", hpa)
