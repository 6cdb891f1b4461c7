"""The executor's view of a Kubernetes sandbox: Service addresses, live pods, and the shell environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes import client

from drillbook.errors import ClusterError

if TYPE_CHECKING:
    from drillbook.platform.kube_sandbox import KubeSandbox


class KubeSandboxView:
    """What runbook commands see of the sandbox (the executor's ``SandboxView``)."""

    def __init__(self, sandbox: KubeSandbox) -> None:
        self.sandbox = sandbox
        self.core = client.CoreV1Api(sandbox.api_client)

    def service_address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        """A loopback host:port that reaches the Service.

        A datastore's Service routes through the fault proxy (``platform/fault_proxy.py``), and runbook commands
        go through it too, on purpose: an on-call's ``pg_isready -h <DB_HOST>`` or ``redis-cli -h <REDIS_HOST>``
        runs from the app's side of the network, so during a partition it fails as the app does, and under
        added latency it is as slow. Reaching the datastore directly would tell the operator "all is well"
        while the app cannot connect, which no production runbook reader would see. Only a command run
        inside the datastore's own pod (``kubectl exec deploy/postgres -- psql``) bypasses the proxy, as it would
        on the database host.
        """
        return self.sandbox.access.address(namespace, name, port)

    def pod_name(self, namespace: str, selector: str) -> str:
        """The pod an operator would pick from ``kubectl get pods``: a troubled one (not ready, or restarting)
        when there is one, else a running one; the newest among equals."""
        listing: Any = self.core.list_namespaced_pod(namespace, label_selector=selector)
        pods = [p for p in listing.items if p.metadata.deletion_timestamp is None]
        if not pods:
            raise ClusterError(f"no pod matches {selector!r} in namespace {namespace}")

        def healthy(pod: Any) -> bool:
            statuses = pod.status.container_statuses or []
            return bool(statuses) and all(s.ready and not s.restart_count for s in statuses)

        pods.sort(key=lambda p: (healthy(p), p.status.phase != "Running", -p.metadata.creation_timestamp.timestamp()))
        return str(pods[0].metadata.name)

    def env(self) -> dict[str, str]:
        """KUBECONFIG/KUBECACHEDIR and the datastores' libpq and Redis variables."""
        env = dict(self.sandbox.kube_env)
        pg = self.sandbox.scenario.postgres
        if pg is not None:
            host, port = self.service_address(pg.namespace, pg.service, pg.port)
            env |= {
                "PGHOST": host,
                "PGPORT": str(port),
                "PGUSER": pg.admin_user,
                "PGPASSWORD": pg.admin_password,
                "PGDATABASE": pg.database,
                "DATABASE_URL": f"postgresql://{pg.admin_user}:{pg.admin_password}@{host}:{port}/{pg.database}",
            }
        redis = self.sandbox.scenario.redis
        if redis is not None:
            host, port = self.service_address(redis.namespace, redis.service, redis.port)
            env |= {"REDIS_HOST": host, "REDIS_PORT": str(port), "REDIS_URL": f"redis://{host}:{port}/0"}
        return env

    def tool_dirs(self) -> list[Path]:
        """Where the real tools live (kubectl, psql, redis-cli, curl)."""
        dirs = [Path(p) for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p]
        pg_bin = Path("/usr/lib/postgresql/15/bin")
        return [pg_bin, *dirs] if pg_bin.is_dir() else dirs


def step_runner_for(sandbox: KubeSandbox) -> Any:
    """The step executor bound to this sandbox, with the scenario's bindings."""
    from drillbook.execute import Bindings, StepExecutor

    bindings = Bindings.load(sandbox.scenario.directory / "bindings.yaml")
    return StepExecutor(view=KubeSandboxView(sandbox), workdir=sandbox.workdir / "steps", bindings=bindings)
