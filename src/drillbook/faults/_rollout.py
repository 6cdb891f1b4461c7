"""Faults that change the app's pod template: the template is journaled first and put back to revert (a real
rollout back to the previous ReplicaSet, or nothing if an operator already did it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drillbook.faults import _kube
from drillbook.faults.base import Fault, JsonValue, RevertRecord


class TemplateFault(Fault):
    """Base of faults that roll out a changed pod template of the app's Deployment."""

    _deployment: dict[str, Any]

    def revert_record(self) -> RevertRecord:
        with _kube.api(self.target.kube_env) as api_client:
            self._deployment = _kube.read_deployment(api_client, self.target.app)
        app = self.target.app
        return RevertRecord(
            self.name,
            f"restore the pod template of deployment {app.namespace}/{app.name}",
            {
                "kube_env": dict(self.target.kube_env),
                "namespace": app.namespace,
                "name": app.name,
                "template": self._deployment["spec"]["template"],
            },
        )

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        kube_env, namespace, name, template = (spec.get(k) for k in ("kube_env", "namespace", "name", "template"))
        if not (isinstance(kube_env, dict) and isinstance(namespace, str) and isinstance(name, str)):
            return
        if isinstance(template, dict):
            with _kube.api(kube_env) as api_client:
                _kube.restore_template(api_client, namespace, name, template)

    def env_still_set(self, variable: str, value: str) -> bool:
        """Whether the app container's template still sets ``variable`` to ``value`` (the fault's build)."""
        with _kube.api(self.target.kube_env) as api_client:
            deployment = _kube.read_deployment(api_client, self.target.app)
        container = deployment["spec"]["template"]["spec"]["containers"][
            _kube.container_index(deployment, self.target.app.container)
        ]
        return any(e.get("name") == variable and e.get("value") == value for e in container.get("env") or [])
