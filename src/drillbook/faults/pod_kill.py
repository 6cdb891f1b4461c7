"""``pod-kill``: delete the app's pods (``count``, default all) with no grace period.

The ReplicaSet replaces them; nothing needs reverting beyond what Kubernetes does by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from kubernetes import client

from drillbook.faults import _kube
from drillbook.faults.base import Fault, JsonValue, RevertRecord, register
from drillbook.faults.params import Param


@register
class PodKill(Fault):
    """Kill the app's pods."""

    name: ClassVar[str] = "pod-kill"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate",)
    summary: ClassVar[str] = "delete the app's pods at once (count, default all)"
    parameters: ClassVar[tuple[Param, ...]] = (
        Param("count", "int", "how many pods are deleted (default: all)", min=1),
    )

    def revert_record(self) -> RevertRecord:
        return RevertRecord(self.name, "nothing to undo: the ReplicaSet replaces deleted pods", {})

    def apply(self) -> None:
        with _kube.api(self.target.kube_env) as api_client:
            victims = _kube.pods(api_client, self.target.app)
            count = self.integer("count", len(victims))
            core = client.CoreV1Api(api_client)
            for pod in victims[:count]:
                core.delete_namespaced_pod(pod["metadata"]["name"], self.target.app.namespace, grace_period_seconds=0)

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        return
