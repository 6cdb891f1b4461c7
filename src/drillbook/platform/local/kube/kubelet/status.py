"""Pod and container status objects as the Kubernetes API shows them."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

JsonObj = dict[str, Any]


def rfc3339(at: float | None = None) -> str:
    """Seconds-precision UTC timestamp (``2026-11-23T19:50:29Z``), as status fields use."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if at is None else at))


def image_id(image: str) -> str:
    """A stable, realistic-looking image digest reference for a mapped image."""
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    if "/" not in repo:
        repo = f"library/{repo}"
    if "." not in repo.split("/", 1)[0]:
        repo = f"docker.io/{repo}"
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def new_container_id() -> str:
    """A fresh containerd-style container ID for one run."""
    return f"containerd://{secrets.token_hex(32)}"


@dataclass
class ContainerRecord:
    """The kubelet's view of one container across its runs (what ``containerStatuses[]`` reports)."""

    name: str
    image: str
    restart_count: int = 0
    state: JsonObj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: JsonObj = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    container_id: str | None = None
    pulled: bool = False

    @property
    def is_running(self) -> bool:
        """Whether the current run is alive."""
        return "running" in self.state

    def waiting(self, reason: str, message: str | None = None) -> None:
        """Enter a waiting state (ContainerCreating, ErrImagePull, CrashLoopBackOff …)."""
        self.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        self.ready = self.started = False

    def running(self, started_at: float) -> None:
        """Enter the running state for a new run."""
        self.container_id = new_container_id()
        self.state = {"running": {"startedAt": rfc3339(started_at)}}

    def terminated(self, exit_code: int, reason: str, started_at: float, message: str | None = None) -> None:
        """Enter the terminated state for the current run."""
        term: JsonObj = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": rfc3339(started_at),
            "finishedAt": rfc3339(),
            "containerID": self.container_id,
        }
        if message:
            term["message"] = message
        self.state = {"terminated": term}
        self.ready = self.started = False

    def to_status(self) -> JsonObj:
        """The ``containerStatuses[]`` entry."""
        status: JsonObj = {
            "name": self.name,
            "image": self.image,
            "imageID": image_id(self.image) if self.pulled else "",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status


@dataclass
class Conditions:
    """Pod conditions with lastTransitionTime that moves only when a status flips."""

    _current: dict[str, tuple[bool, str, str | None, str | None]] = field(default_factory=dict)

    def set(self, type_: str, ok: bool, reason: str | None = None, message: str | None = None) -> None:
        """Set one condition; keeps the previous transition time when the status did not change."""
        previous = self._current.get(type_)
        since = previous[1] if previous is not None and previous[0] == ok else rfc3339()
        self._current[type_] = (ok, since, reason, message)

    def to_list(self) -> list[JsonObj]:
        """Conditions in upstream order."""
        out: list[JsonObj] = []
        for type_ in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
            if type_ not in self._current:
                continue
            ok, since, reason, message = self._current[type_]
            item: JsonObj = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None}
            item["lastTransitionTime"] = since
            if reason:
                item["reason"] = reason
            if message:
                item["message"] = message
            out.append(item)
        return out


def pod_phase(records: list[ContainerRecord], restart_policy: str) -> str:
    """Upstream's getPhase for regular containers (init containers handled by the caller)."""
    waiting = running = stopped = succeeded = failed = 0
    for rec in records:
        if "running" in rec.state:
            running += 1
        elif "terminated" in rec.state:
            stopped += 1
            if rec.state["terminated"]["exitCode"] == 0:
                succeeded += 1
            else:
                failed += 1
        elif rec.last_state.get("terminated"):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if restart_policy == "Always":
        return "Running"
    if restart_policy == "OnFailure":
        return "Succeeded" if stopped == succeeded else "Running"
    return "Failed" if failed else "Succeeded"


def qos_class(pod: JsonObj) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = list(pod.get("spec", {}).get("containers", [])) + list(pod.get("spec", {}).get("initContainers", []))
    any_set, guaranteed = False, True
    for container in containers:
        resources = container.get("resources") or {}
        limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
        if limits or requests:
            any_set = True
        for res in ("cpu", "memory"):
            if res not in limits or str(requests.get(res, limits[res])) != str(limits[res]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


@dataclass(frozen=True)
class PodView:
    """What a pod status is computed from."""

    pod: JsonObj
    pod_ip: str
    start_time: float
    records: list[ContainerRecord]
    init_records: list[ContainerRecord]
    initialized: bool
    init_failed: bool


def pod_status(view: PodView, conditions: Conditions) -> JsonObj:
    """The complete pod ``status`` (phase, conditions, IPs, QoS, container statuses); updates ``conditions``."""
    policy = str((view.pod.get("spec") or {}).get("restartPolicy", "Always"))
    if view.init_failed:
        phase = "Failed"
    elif not view.initialized:
        phase = "Pending"
    else:
        phase = pod_phase(view.records, policy)
    conditions.set("PodReadyToStartContainers", True)
    if view.initialized:
        conditions.set("Initialized", True)
    else:
        pending = " ".join(r.name for r in view.init_records if r.state.get("terminated", {}).get("exitCode") != 0)
        conditions.set(
            "Initialized", False, "ContainersNotInitialized", f"containers with incomplete status: [{pending}]"
        )
    unready = " ".join(r.name for r in view.records if not r.ready)
    for type_ in ("Ready", "ContainersReady"):
        if not unready:
            conditions.set(type_, True)
        elif phase in ("Succeeded", "Failed"):
            conditions.set(type_, False, "PodCompleted")
        else:
            conditions.set(type_, False, "ContainersNotReady", f"containers with unready status: [{unready}]")
    conditions.set("PodScheduled", True)
    status: JsonObj = {
        "phase": phase,
        "conditions": conditions.to_list(),
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": view.pod_ip,
        "podIPs": [{"ip": view.pod_ip}],
        "startTime": rfc3339(view.start_time),
        "qosClass": qos_class(view.pod),
        "containerStatuses": [r.to_status() for r in view.records],
    }
    if view.init_records:
        status["initContainerStatuses"] = [r.to_status() for r in view.init_records]
    return status
