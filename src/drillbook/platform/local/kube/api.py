"""The API's write semantics: defaults, status subresources, graceful pod deletion, and the kubelet bridge."""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from drillbook.platform.local.kube import defaults
from drillbook.platform.local.kube.contract import KubeletLike
from drillbook.platform.local.kube.events import EventRecorder
from drillbook.platform.local.kube.ips import ServiceIPPool
from drillbook.platform.local.kube.patch import apply_patch
from drillbook.platform.local.kube.resources import by_plural
from drillbook.platform.local.kube.status import ApiStatusError, bad_request, not_found
from drillbook.platform.local.kube.store import EventType, Store

JsonObj = dict[str, Any]
log = logging.getLogger(__name__)


def _bindable(ip: str, ports: list[int]) -> bool:
    """Whether every port is free on ``ip`` (another localkube on this machine may hold the address)."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((ip, port))
            except OSError:
                return False
    return True


_ALWAYS_RESTART = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}


def _validate(kind: str, obj: JsonObj) -> None:
    """The validation runbooks trip over most: workload controllers only run pods that always restart."""
    if kind not in _ALWAYS_RESTART:
        return
    policy = ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("restartPolicy")
    if policy not in (None, "Always"):
        name = obj["metadata"]["name"]
        field = "spec.template.spec.restartPolicy"
        detail = f'Unsupported value: "{policy}": supported values: "Always"'
        error = ApiStatusError(
            422, f'{kind}.apps "{name}" is invalid: {field}: {detail}', kind=kind, name=name, group="apps"
        )
        error.details["causes"] = [{"reason": "FieldValueNotSupported", "message": detail, "field": field}]
        raise error


class Api:
    """Create/replace/patch/delete with the API server's side effects; also the kubelet's ``PodSink``."""

    def __init__(self, store: Store, *, time_factor: float = 1.0, service_ips: ServiceIPPool | None = None) -> None:
        self.store = store
        self.events = EventRecorder(store)
        self.time_factor = time_factor
        self.kubelet: KubeletLike | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._synced: dict[str, JsonObj] = {}
        self._service_ips = service_ips or ServiceIPPool()
        for svc in store.list("services"):  # a restarted server keeps the addresses its store already gave out
            ip = (svc.get("spec") or {}).get("clusterIP")
            if ip and ip != "None" and not self._service_ips.claim(ip):
                log.warning("service IP %s of %s is held by another localkube", ip, svc["metadata"].get("name"))
        store.add_listener(self._on_change)

    # -- writes ---------------------------------------------------------------------------------------------------
    def create(self, resource: str, obj: JsonObj, *, namespace: str | None = None, dry_run: bool = False) -> JsonObj:
        """Create an object (defaults applied); ``namespace`` is the one in the request path."""
        res = by_plural(resource)
        if obj.get("kind") and obj["kind"] != res.kind:
            raise bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) and kind ({obj['kind']}) "
                f"do not match the resource {resource} being created"
            )
        meta = obj.setdefault("metadata", {})
        if res.namespaced and namespace is not None:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        defaults.apply(res.kind, obj)
        _validate(res.kind, obj)
        if res.kind == "Service":
            self._allocate_service(obj)
        if res.kind == "Deployment":
            obj.setdefault("status", {})
        if dry_run:
            meta.setdefault("creationTimestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
            return obj
        return self.store.create(resource, obj)

    def replace(
        self, resource: str, namespace: str, name: str, obj: JsonObj, *, sub: str | None = None, check_rv: bool = True
    ) -> JsonObj:
        """PUT: replace spec/metadata (or only status for the ``status`` subresource)."""
        res = by_plural(resource)
        current = self.store.get(resource, namespace if res.namespaced else "", name)
        if current is None:
            raise not_found(resource, name, res.group)
        if sub == "status":
            current["status"] = obj.get("status", {})
            return self.store.update(resource, current)
        obj.setdefault("metadata", {})
        obj["metadata"]["name"] = name
        if res.namespaced:
            obj["metadata"]["namespace"] = namespace
        if res.has_status and "status" in current:
            obj["status"] = current["status"]
        defaults.apply(res.kind, obj)
        _validate(res.kind, obj)
        if res.kind == "Service":
            obj["spec"].setdefault("clusterIP", current.get("spec", {}).get("clusterIP"))
            obj["spec"].setdefault("clusterIPs", current.get("spec", {}).get("clusterIPs"))
        return self.store.update(resource, obj, check_rv=check_rv)

    def patch(
        self,
        resource: str,
        namespace: str,
        name: str,
        body: Any,
        content_type: str,
        *,
        sub: str | None = None,
        dry_run: bool = False,
    ) -> JsonObj:
        """PATCH with any of the supported patch types (``dry_run``: compute and return, store nothing)."""
        res = by_plural(resource)
        current = self.store.get(resource, namespace if res.namespaced else "", name)
        if current is None:
            raise not_found(resource, name, res.group)
        patched = apply_patch(current, body, content_type)
        if sub == "status":
            current["status"] = patched.get("status", {})
            return current if dry_run else self.store.update(resource, current)
        patched["metadata"]["name"] = name
        patched["metadata"]["uid"] = current["metadata"]["uid"]
        if res.has_status and "status" in current:
            patched["status"] = current["status"]
        defaults.apply(res.kind, patched)
        _validate(res.kind, patched)
        return patched if dry_run else self.store.update(resource, patched)

    def delete(self, resource: str, namespace: str, name: str, options: JsonObj | None = None) -> JsonObj:
        """DELETE: pods terminate gracefully; owned objects are collected (or orphaned on request)."""
        res = by_plural(resource)
        ns = namespace if res.namespaced else ""
        current = self.store.get(resource, ns, name)
        if current is None:
            raise not_found(resource, name, res.group)
        options = options or {}
        if options.get("propagationPolicy") == "Orphan" or options.get("orphanDependents"):
            self._orphan(current["metadata"]["uid"])
        if resource == "pods":
            return self._delete_pod(current, options.get("gracePeriodSeconds"))
        if resource == "namespaces":
            return self._delete_namespace(current)
        removed = self.store.remove(resource, ns, name)
        return removed or current

    # -- pods -----------------------------------------------------------------------------------------------------
    def _delete_pod(self, pod: JsonObj, grace: Any) -> JsonObj:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return pod
        spec_grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        seconds = spec_grace if grace is None else int(grace)
        if not (pod.get("spec") or {}).get("nodeName") or self.kubelet is None:
            return self.store.remove("pods", meta["namespace"], meta["name"]) or pod
        meta["deletionTimestamp"] = (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["deletionGracePeriodSeconds"] = seconds
        updated = self.store.update("pods", pod)
        self._spawn(self._terminate(updated, None if grace is None else seconds * self.time_factor))
        return updated

    async def _terminate(self, pod: JsonObj, grace_s: float | None) -> None:
        meta = pod["metadata"]
        try:
            if self.kubelet is not None:
                await self.kubelet.kill_pod(pod, grace_s)
        finally:
            current = self.store.get("pods", meta["namespace"], meta["name"])
            if current is not None and current["metadata"]["uid"] == meta["uid"]:
                self.store.remove("pods", meta["namespace"], meta["name"])
            self._synced.pop(meta["uid"], None)

    def _delete_namespace(self, ns_obj: JsonObj) -> JsonObj:
        name = ns_obj["metadata"]["name"]
        if name in ("default", "kube-system", "kube-public"):
            raise ApiStatusError(
                403,
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                kind="namespaces",
                name=name,
            )
        ns_obj["metadata"]["deletionTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ns_obj["status"] = {"phase": "Terminating"}
        updated = self.store.update("namespaces", ns_obj)
        self._spawn(self._drain_namespace(name))
        return updated

    async def _drain_namespace(self, name: str) -> None:
        for resource in ("deployments", "statefulsets", "replicasets", "jobs", "cronjobs", "pods"):
            for obj in self.store.list(resource, name):
                self.delete(resource, name, obj["metadata"]["name"])
        while self.store.list("pods", name):
            await asyncio.sleep(0.05)
        for resource in self.store_resources():
            if by_plural(resource).namespaced:
                for obj in self.store.list(resource, name):
                    self.store.remove(resource, name, obj["metadata"]["name"])
        self.store.remove("namespaces", "", name)

    def store_resources(self) -> list[str]:
        """Names of every namespaced resource kind the store may hold."""
        from drillbook.platform.local.kube.resources import RESOURCES

        return [r.name for r in RESOURCES if r.namespaced]

    def _orphan(self, owner_uid: str) -> None:
        for resource in ("replicasets", "pods", "controllerrevisions", "jobs"):
            for obj in self.store.list(resource):
                refs = obj["metadata"].get("ownerReferences") or []
                kept = [r for r in refs if r.get("uid") != owner_uid]
                if len(kept) != len(refs):
                    obj["metadata"]["ownerReferences"] = kept
                    self.store.update(resource, obj)

    # -- services -------------------------------------------------------------------------------------------------
    def _allocate_service(self, svc: JsonObj) -> None:
        spec = svc["spec"]
        if spec.get("type") == "ExternalName" or spec.get("clusterIP") == "None":
            return
        if not spec.get("clusterIP"):
            used = {s.get("spec", {}).get("clusterIP") for s in self.store.list("services")}
            ports = [int(p["port"]) for p in spec.get("ports") or [] if p.get("port")]

            def usable(ip: str) -> bool:
                return ip not in used and ip.rsplit(".", maxsplit=1)[-1] not in ("0", "255") and _bindable(ip, ports)

            spec["clusterIP"] = self._service_ips.allocate(usable)
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            used_ports = {p.get("nodePort") for s in self.store.list("services") for p in s["spec"].get("ports") or []}
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    port["nodePort"] = next(n for n in range(30000, 32768) if n not in used_ports)
                    used_ports.add(port["nodePort"])

    # -- kubelet bridge (PodSink) ---------------------------------------------------------------------------------
    async def update_pod_status(self, namespace: str, name: str, uid: str, status: JsonObj) -> None:
        """Store a pod's status if that pod (by uid) still exists."""
        pod = self.store.get("pods", namespace, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        pod["status"] = copy.deepcopy(status)
        self.store.update("pods", pod)

    async def record_event(self, pod: JsonObj, type_: str, reason: str, message: str) -> None:
        """Record a kubelet event about a pod."""
        self.events.record(pod, type_, reason, message, "kubelet")

    def _on_change(self, resource: str, type_: EventType, obj: JsonObj) -> None:
        if resource == "services" and type_ == "DELETED":
            ip = (obj.get("spec") or {}).get("clusterIP")
            if ip and not any((s.get("spec") or {}).get("clusterIP") == ip for s in self.store.list("services")):
                self._service_ips.release(ip)
            return
        if resource != "pods" or self.kubelet is None:
            return
        meta = obj["metadata"]
        if type_ == "DELETED" or meta.get("deletionTimestamp") or not (obj.get("spec") or {}).get("nodeName"):
            return
        shape = {"spec": obj.get("spec"), "labels": meta.get("labels"), "annotations": meta.get("annotations")}
        if self._synced.get(meta["uid"]) == shape:
            return
        self._synced[meta["uid"]] = shape
        self._spawn(self.kubelet.sync_pod(copy.deepcopy(obj)))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed: %r", task.exception())

    async def close(self) -> None:
        """Cancel background work (pod terminations are finished by the kubelet's shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
