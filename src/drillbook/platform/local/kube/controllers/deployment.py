"""Deployment controller: ReplicaSets per template, rolling updates, rollback by template, status and conditions."""

from __future__ import annotations

import copy
import time
from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers.common import (
    normalized_template,
    owned_by,
    owner_ref,
    resolve_int_or_percent,
    template_hash,
)
from drillbook.platform.local.kube.store import now_rfc3339, parse_time

JsonObj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"
COMPONENT = "deployment-controller"


def _revision(rs: JsonObj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _spec_replicas(rs: JsonObj) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def st(rs: JsonObj, key: str) -> int:
    """An integer status field of a ReplicaSet (0 when absent)."""
    return int((rs.get("status") or {}).get(key, 0))


def _available(rs: JsonObj) -> int:
    return int((rs.get("status") or {}).get("availableReplicas", 0))


class DeploymentController:
    """Level-triggered: each ``sync`` looks at every Deployment and moves it one step closer to its spec."""

    def __init__(self, api: Api) -> None:
        self.api = api
        # When each deployment last made progress (monotonic), for ProgressDeadlineExceeded.
        self._progress: dict[str, tuple[tuple[int, ...], float]] = {}

    def sync(self) -> None:
        """Reconcile every Deployment once."""
        all_rs = self.api.store.list("replicasets")
        for deploy in self.api.store.list("deployments"):
            uid = deploy["metadata"]["uid"]
            owned = [rs for rs in all_rs if owned_by(rs, uid)]
            self._sync_one(deploy, owned)

    def _scale(self, deploy: JsonObj, rs: JsonObj, replicas: int) -> JsonObj:
        old = _spec_replicas(rs)
        if old == replicas:
            return rs
        rs["spec"]["replicas"] = replicas
        annotations = rs["metadata"].setdefault("annotations", {})
        annotations["deployment.kubernetes.io/desired-replicas"] = str(deploy["spec"].get("replicas", 1))
        rs = self.api.store.update("replicasets", rs)
        direction = "up" if replicas > old else "down"
        self.api.events.record(
            deploy,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs['metadata']['name']} from {old} to {replicas}",
            COMPONENT,
        )
        return rs

    def _sync_one(self, deploy: JsonObj, owned: list[JsonObj]) -> None:
        spec = deploy["spec"]
        template = spec.get("template") or {}
        wanted = normalized_template(template)
        new_rs = next((rs for rs in owned if normalized_template(rs["spec"].get("template") or {}) == wanted), None)
        old = [rs for rs in owned if rs is not new_rs]
        max_rev = max((_revision(rs) for rs in owned), default=0)
        replicas = int(spec.get("replicas", 1))
        strategy = spec.get("strategy") or {}
        ru = strategy.get("rollingUpdate") or {}
        surge = resolve_int_or_percent(ru.get("maxSurge", "25%"), replicas, round_up=True)
        unavailable = resolve_int_or_percent(ru.get("maxUnavailable", "25%"), replicas, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        if spec.get("paused"):
            self._status(deploy, new_rs, owned, unavailable)
            return
        old_active = sum(_spec_replicas(rs) for rs in old)
        if new_rs is None:
            if strategy.get("type") == "Recreate":
                start = 0 if old_active else replicas
            else:
                start = replicas if not old_active else max(0, min(replicas, replicas + surge - old_active))
            new_rs = self._create_rs(deploy, template, max_rev + 1, start)
            owned.append(new_rs)
        else:
            new_rs = self._adopt_revision(deploy, new_rs, max_rev)
        if strategy.get("type") == "Recreate":
            self._recreate(deploy, new_rs, old, replicas)
        else:
            self._rolling(deploy, new_rs, old, replicas=replicas, surge=surge, unavailable=unavailable)
        self._cleanup(deploy, old)
        owned = [
            rs
            for rs in self.api.store.list("replicasets", deploy["metadata"]["namespace"])
            if owned_by(rs, deploy["metadata"]["uid"])
        ]
        new_rs = next((rs for rs in owned if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        self._status(deploy, new_rs, owned, unavailable)

    def _create_rs(self, deploy: JsonObj, template: JsonObj, revision: int, replicas: int) -> JsonObj:
        tmpl = copy.deepcopy(template)
        digest = template_hash(tmpl)
        tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = digest
        selector = copy.deepcopy(deploy["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
        annotations = {
            "deployment.kubernetes.io/desired-replicas": str(deploy["spec"].get("replicas", 1)),
            "deployment.kubernetes.io/max-replicas": str(int(deploy["spec"].get("replicas", 1)) + 1),
            REVISION: str(revision),
        }
        cause = (deploy["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
        if cause:
            annotations[CHANGE_CAUSE] = cause
        name = f"{deploy['metadata']['name']}-{digest}"
        rs: JsonObj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": deploy["metadata"]["namespace"],
                "labels": dict(tmpl["metadata"]["labels"]),
                "annotations": annotations,
                "ownerReferences": [owner_ref(deploy)],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": tmpl},
        }
        existing = self.api.store.get("replicasets", deploy["metadata"]["namespace"], name)
        if existing is not None:  # a hash collision with an unowned set: take the name with a suffix
            rs["metadata"]["name"] = f"{name}-{revision}"
        created = self.api.create("replicasets", rs, namespace=deploy["metadata"]["namespace"])
        self._set_revision(deploy, revision)
        if replicas:
            self.api.events.record(
                deploy,
                "Normal",
                "ScalingReplicaSet",
                f"Scaled up replica set {created['metadata']['name']} from 0 to {replicas}",
                COMPONENT,
            )
        return created

    def _adopt_revision(self, deploy: JsonObj, rs: JsonObj, max_rev: int) -> JsonObj:
        """A rollback picks an existing ReplicaSet: it becomes revision max+1 and remembers its old number."""
        annotations = rs["metadata"].setdefault("annotations", {})
        current = _revision(rs)
        changed = False
        if current < max_rev:
            history = [h for h in annotations.get(HISTORY, "").split(",") if h]
            history.append(str(current))
            annotations[HISTORY] = ",".join(history)
            annotations[REVISION] = str(max_rev + 1)
            changed = True
        cause = (deploy["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
        if cause and annotations.get(CHANGE_CAUSE) != cause:
            annotations[CHANGE_CAUSE] = cause
            changed = True
        if changed:
            rs = self.api.store.update("replicasets", rs)
        self._set_revision(deploy, _revision(rs))
        return rs

    def _set_revision(self, deploy: JsonObj, revision: int) -> None:
        current = self.api.store.get("deployments", deploy["metadata"]["namespace"], deploy["metadata"]["name"])
        if current is None:
            return
        annotations = current["metadata"].setdefault("annotations", {})
        if annotations.get(REVISION) != str(revision):
            annotations[REVISION] = str(revision)
            updated = self.api.store.update("deployments", current)
            deploy["metadata"] = updated["metadata"]

    def _rolling(
        self, deploy: JsonObj, new_rs: JsonObj, old: list[JsonObj], *, replicas: int, surge: int, unavailable: int
    ) -> None:
        total = _spec_replicas(new_rs) + sum(_spec_replicas(rs) for rs in old)
        new_count = _spec_replicas(new_rs)
        if not any(_spec_replicas(rs) for rs in old):
            self._scale(deploy, new_rs, replicas)
            return
        if new_count < replicas:
            room = replicas + surge - total
            if room > 0:
                self._scale(deploy, new_rs, min(replicas, new_count + room))
                return
        elif new_count > replicas:
            self._scale(deploy, new_rs, replicas)
            return
        min_available = replicas - unavailable
        new_unavailable = _spec_replicas(new_rs) - _available(new_rs)
        max_down = total - min_available - new_unavailable
        if max_down <= 0:
            return
        ordered = sorted(old, key=lambda rs: (_revision(rs), rs["metadata"].get("creationTimestamp", "")))
        for rs in ordered:  # first drop old pods that are not available anyway
            unhealthy = _spec_replicas(rs) - _available(rs)
            if unhealthy > 0 and max_down > 0:
                step = min(unhealthy, max_down)
                self._scale(deploy, rs, _spec_replicas(rs) - step)
                max_down -= step
        all_available = _available(new_rs) + sum(_available(rs) for rs in old)
        budget = min(max_down, all_available - min_available)
        for rs in ordered:
            if budget <= 0:
                break
            count = _spec_replicas(rs)
            if count == 0:
                continue
            step = min(count, budget)
            self._scale(deploy, rs, count - step)
            budget -= step

    def _recreate(self, deploy: JsonObj, new_rs: JsonObj, old: list[JsonObj], replicas: int) -> None:
        for rs in old:
            self._scale(deploy, rs, 0)
        old_pods = [
            p
            for p in self.api.store.view("pods", deploy["metadata"]["namespace"])
            if any(owned_by(p, rs["metadata"]["uid"]) for rs in old)
        ]
        if not old_pods:
            self._scale(deploy, new_rs, replicas)

    def _cleanup(self, deploy: JsonObj, old: list[JsonObj]) -> None:
        limit = int(deploy["spec"].get("revisionHistoryLimit", 10))
        idle = sorted(
            (rs for rs in old if _spec_replicas(rs) == 0 and not (rs.get("status") or {}).get("replicas")),
            key=_revision,
        )
        for rs in idle[: max(0, len(idle) - limit)]:
            self.api.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _status(self, deploy: JsonObj, new_rs: JsonObj | None, owned: list[JsonObj], unavailable: int) -> None:
        meta = deploy["metadata"]
        current = self.api.store.get("deployments", meta["namespace"], meta["name"])
        if current is None:
            return
        replicas = int(current["spec"].get("replicas", 1))
        total = sum(st(rs, "replicas") for rs in owned)
        updated = st(new_rs, "replicas") if new_rs else 0
        ready = sum(st(rs, "readyReplicas") for rs in owned)
        available = sum(st(rs, "availableReplicas") for rs in owned)
        status: JsonObj = {
            "observedGeneration": current["metadata"].get("generation", 1),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(0, replicas - available),
        }
        status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
        old_conds = {c["type"]: c for c in (current.get("status") or {}).get("conditions") or []}
        now = now_rfc3339()
        rs_name = new_rs["metadata"]["name"] if new_rs else ""
        if available >= replicas - unavailable:
            avail = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            avail = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        complete = (
            updated == replicas
            and total == replicas
            and available == replicas
            and (_spec_replicas(new_rs) == replicas if new_rs else replicas == 0)
        )
        key = meta["uid"]
        counts = (updated, ready, available, total, _spec_replicas(new_rs) if new_rs else 0, len(owned))
        last = self._progress.get(key)
        if last is None or last[0] != counts:
            self._progress[key] = (counts, time.monotonic())
        stalled_for = time.monotonic() - self._progress[key][1]
        deadline = float(current["spec"].get("progressDeadlineSeconds", 600)) * self.api.time_factor
        old_progress = old_conds.get("Progressing", {})
        if complete:
            prog = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
        elif stalled_for > deadline or (
            old_progress.get("reason") == "ProgressDeadlineExceeded" and last is not None and last[0] == counts
        ):
            prog = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.')
        else:
            prog = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
        conditions = []
        for type_, (cstatus, reason, message) in (("Available", avail), ("Progressing", prog)):
            old_c = old_conds.get(type_, {})
            same = old_c.get("status") == cstatus and old_c.get("reason") == reason and old_c.get("message") == message
            moved = last is None or last[0] != counts
            conditions.append(
                {
                    "type": type_,
                    "status": cstatus,
                    "lastUpdateTime": old_c["lastUpdateTime"]
                    if same and not (moved and type_ == "Progressing") and "lastUpdateTime" in old_c
                    else now,
                    "lastTransitionTime": old_c.get("lastTransitionTime", now)
                    if old_c.get("status") == cstatus
                    else now,
                    "reason": reason,
                    "message": message,
                }
            )
        status["conditions"] = conditions
        if prog[1] == "ProgressDeadlineExceeded" and old_progress.get("reason") != "ProgressDeadlineExceeded":
            self.api.events.record(
                current,
                "Warning",
                "ProgressDeadlineExceeded",
                f'Deployment "{meta["name"]}" has timed out progressing.',
                COMPONENT,
            )
        if _strip_times(current.get("status")) != _strip_times(status) or (
            (current.get("status") or {}).get("observedGeneration") != status["observedGeneration"]
        ):
            current["status"] = status
            self.api.store.update("deployments", current)


def _strip_times(status: Any) -> Any:
    if not isinstance(status, dict):
        return status
    out = dict(status)
    out["conditions"] = [{k: v for k, v in c.items() if not k.endswith("Time")} for c in status.get("conditions", [])]
    return out


def age_seconds(timestamp: str | None) -> float:
    """Seconds since an API timestamp (0 when unknown)."""
    when = parse_time(timestamp)
    return 0.0 if when is None else time.time() - when.timestamp()
