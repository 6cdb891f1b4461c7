"""``memory-leak``: roll out a build that leaks memory until the kernel (here: the kubelet's memory
limit) kills it — OOMKilled, exit 137, restarts.

The stand-in service leaks when ``variable`` (default ``LEAK_MEMORY_MB_PER_S``) is set; the value is
parameter ``mb_per_s`` (default 20). Revert: the recorded pod template comes back (a rollout).
"""

from __future__ import annotations

from typing import ClassVar

from drillbook.faults import _kube
from drillbook.faults._rollout import TemplateFault
from drillbook.faults.base import register
from drillbook.faults.params import Param


@register
class MemoryLeak(TemplateFault):
    """Make the app leak memory."""

    name: ClassVar[str] = "memory-leak"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate",)
    summary: ClassVar[str] = "roll out a leaking build (env LEAK_MEMORY_MB_PER_S) until pods are OOMKilled"
    regrows_after_restart: ClassVar[bool] = True  # a restarted pod starts empty and leaks at the same rate
    parameters: ClassVar[tuple[Param, ...]] = (
        Param("mb_per_s", "float", "how fast the build leaks", 20, unit="MB/s", min=0, min_exclusive=True),
        Param("variable", "str", "the app's environment variable that sets the leak rate", "LEAK_MEMORY_MB_PER_S"),
    )

    def apply(self) -> None:
        index = _kube.container_index(self._deployment, self.target.app.container)
        name = self._deployment["spec"]["template"]["spec"]["containers"][index]["name"]
        variable, value = self._env()
        patch = {
            "spec": {
                "template": {"spec": {"containers": [{"name": name, "env": [{"name": variable, "value": value}]}]}}
            }
        }
        with _kube.api(self.target.kube_env) as api_client:
            _kube.patch_deployment(api_client, self.target.app, patch)

    def still_in_place(self) -> bool:
        """The leaking build is still what the Deployment runs."""
        return self.env_still_set(*self._env())

    def _env(self) -> tuple[str, str]:
        return self.text("variable"), str(self.number("mb_per_s"))
