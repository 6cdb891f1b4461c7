"""``connection-leak``: the application leaks its own database connections, as a code path that never releases
the client it checked out does.

Rolls out the app with ``STANDIN_LEAK_CONNECTIONS`` set to parameter ``share`` (default ``0.1``): that share of
business requests keeps its pool connection for the life of the process. Each replica's pool drains at a rate set
by its traffic, then every request waits for a connection and fails ("timeout acquiring connection"), readiness
fails with it, and the breach holds until the leaking processes go. The leaked connections are real backends of
the app's own (non-superuser) role, idle in ``pg_stat_activity``.

What heals it, as in production:

* ``kubectl rollout restart`` (or deleting the pods) ends the processes and so releases their connections; the
  leak is still in the code, so it drains the fresh pools again at the same rate: a restart buys about as long as
  the first onset took.
* ``kubectl rollout undo`` rolls back to the release without the leak: fixed.
* Terminating the idle backends frees server slots, but the pool still counts the leaked clients as checked out:
  no relief, as with node-postgres or asyncpg.
* A larger pool (``DATABASE_POOL_SIZE=50`` on two replicas) lets the leak reach ``max_connections`` itself.

Time-dependent filters (``query_start < now() - interval '10 minutes'``): the leaked connections are as old as
the fault (:meth:`Fault.sandbox_age_s`); drillbook does not forge their timestamps, so such a filter matches
nothing in a compressed sandbox and is not rehearsable as written.

Revert: the recorded pod template comes back (a rollout, which also releases the connections).
"""

from __future__ import annotations

from typing import ClassVar

from drillbook.faults import _kube
from drillbook.faults._rollout import TemplateFault
from drillbook.faults.base import register
from drillbook.faults.params import Param

VARIABLE = "STANDIN_LEAK_CONNECTIONS"


@register
class ConnectionLeak(TemplateFault):
    """Roll out a build of the app that leaks pool connections."""

    name: ClassVar[str] = "connection-leak"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate", "latency_p95")
    summary: ClassVar[str] = "roll out a build that never releases share of its pool connections (restart frees them)"
    regrows_after_restart: ClassVar[bool] = True  # a restart frees the leaked connections; the leak drains again
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(
            "share",
            "float",
            "the share of business requests that keep their pool connection",
            default=0.1,
            min=0,
            min_exclusive=True,
            max=1,
        ),
    )

    def apply(self) -> None:
        value = self.number("share")
        index = _kube.container_index(self._deployment, self.target.app.container)
        name = self._deployment["spec"]["template"]["spec"]["containers"][index]["name"]
        annotations = self._deployment["metadata"].get("annotations") or {}
        cause = f"drillbook fault connection-leak: deploy a build that leaks {value:.0%} of its DB connections"
        patch = {
            "metadata": {"annotations": {**annotations, "kubernetes.io/change-cause": cause}},
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": name, "env": [{"name": VARIABLE, "value": self._value()}]}]}
                }
            },
        }
        with _kube.api(self.target.kube_env) as api_client:
            _kube.patch_deployment(api_client, self.target.app, patch)

    def still_in_place(self) -> bool:
        """The leaking build is still what the Deployment runs."""
        return self.env_still_set(VARIABLE, self._value())

    def _value(self) -> str:
        return str(self.number("share"))
