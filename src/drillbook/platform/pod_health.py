"""Which pods of a sandbox cannot become ready by waiting: their containers wait on something time cannot fix.

Pure functions over pod objects as the API returns them (camelCase JSON), so every provider's bring-up wait
(:meth:`drillbook.platform.kube_sandbox.KubeSandbox.wait_available`) reads them the same way and a unit test can
hand in what a real kubelet reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

JsonObj = dict[str, Any]

#: Waiting reasons that persist until the pod's spec (its image or command) changes, which a bring-up never does.
UNHEALABLE_WAITS = frozenset(
    {"CreateContainerError", "RunContainerError", "ErrImagePull", "ImagePullBackOff", "InvalidImageName"}
)

#: A container that crashed this often is not starting slowly, it is broken. Five restarts take at least
#: 10+20+40+80 s of back-off (nominal: localkube scales it by its time factor), long enough for a dependency that
#: is merely late to have come up; fewer would fail a healthy start on a loaded machine.
CRASH_LOOP_RESTARTS = 5

#: Exit codes of a container the kubelet stopped (SIGKILL, SIGTERM), as after a failed liveness probe.
KILLED_BY_KUBELET = frozenset({137, 143})

#: A start the runtime refused (the command is not there): containerd reports it as this termination reason, the
#: kubelet then as CrashLoopBackOff. Another attempt runs the same missing command.
START_ERROR = "StartError"


@dataclass(frozen=True)
class StuckContainer:
    """One container of a pod that waits on something waiting cannot fix."""

    namespace: str
    pod: str
    container: str
    image: str
    reason: str
    message: str
    restarts: int

    def describe(self) -> str:
        """``pod production/api-1, container api (image x:1): RunContainerError: <the kubelet's message>``."""
        detail = f": {self.message}" if self.message else ""
        restarts = f" after {self.restarts} restarts" if self.restarts else ""
        return (
            f"pod {self.namespace}/{self.pod}, container {self.container} (image {self.image}): "
            f"{self.reason}{restarts}{detail}"
        )


def stuck_containers(pods: Iterable[Mapping[str, Any]]) -> list[StuckContainer]:
    """The containers of ``pods`` whose waiting state cannot heal by waiting, in the order given.

    A pod being deleted is left out: its replacement is what counts.
    """
    found: list[StuckContainer] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        status = pod.get("status") or {}
        for entry in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
            stuck = _stuck(entry)
            if stuck is not None:
                reason, message = stuck
                found.append(
                    StuckContainer(
                        namespace=str(meta.get("namespace", "default")),
                        pod=str(meta.get("name", "?")),
                        container=str(entry.get("name", "?")),
                        image=str(entry.get("image", "?")),
                        reason=reason,
                        message=message,
                        restarts=int(entry.get("restartCount") or 0),
                    )
                )
    return found


def _stuck(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reason, message) when this container status cannot heal by waiting, else ``None``."""
    waiting = (entry.get("state") or {}).get("waiting") or {}
    reason = str(waiting.get("reason") or "")
    message = str(waiting.get("message") or "")
    if reason in UNHEALABLE_WAITS:
        return reason, message
    if reason != "CrashLoopBackOff":
        return None
    last = (entry.get("lastState") or {}).get("terminated") or {}
    if last.get("reason") == START_ERROR:
        return f"CrashLoopBackOff ({START_ERROR})", str(last.get("message") or message)
    exit_code = last.get("exitCode")
    if last.get("reason") == "Error" and exit_code in KILLED_BY_KUBELET:
        return None  # killed (a liveness probe that timed out): on a loaded machine that is slowness, not a bug
    if int(entry.get("restartCount") or 0) >= CRASH_LOOP_RESTARTS:
        cause = f"last exit code {exit_code}" if exit_code is not None else message
        return reason, cause
    return None


def by_cause(stuck: Iterable[StuckContainer]) -> list[list[StuckContainer]]:
    """Stuck containers grouped by what is wrong (container, image, reason, message), in first-seen order: the
    replicas of one Deployment fail alike, and the cause is worth saying once."""
    groups: dict[tuple[str, str, str, str], list[StuckContainer]] = {}
    for item in stuck:
        groups.setdefault((item.container, item.image, item.reason, item.message), []).append(item)
    return list(groups.values())


def describe_group(group: list[StuckContainer]) -> str:
    """The first container's :meth:`~StuckContainer.describe`, naming the other pods where the same is true."""
    text = group[0].describe()
    if group[1:]:
        pods = ", ".join(f"{s.namespace}/{s.pod}" for s in group[1:])
        text += f" (the same in pod{'s' if len(group) > 2 else ''} {pods})"
    return text


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether a Deployment's ``spec.selector`` matches a pod's labels (``matchLabels`` and ``matchExpressions``)."""
    selector = selector or {}
    labels = labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
