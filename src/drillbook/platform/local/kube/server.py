"""The localkube server: store, API, controllers, service proxies and the kubelet behind one aiohttp app."""

from __future__ import annotations

import asyncio
import logging
import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from drillbook.errors import ClusterError
from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.contract import KubeletLike
from drillbook.platform.local.kube.controllers import ControllerManager
from drillbook.platform.local.kube.discovery import VERSION
from drillbook.platform.local.kube.proxy import NODE_METRICS_KEY, NodeMetrics
from drillbook.platform.local.kube.routes import API_KEY, CLOSING_KEY, add_routes
from drillbook.platform.local.kube.services import ServiceProxies
from drillbook.platform.local.kube.store import Store

if TYPE_CHECKING:
    from drillbook.platform.local.kube.kubelet import ImageMap

JsonObj = dict[str, Any]
KubeletFactory = Callable[[Api, Path], KubeletLike]
log = logging.getLogger(__name__)
NODE_NAME = "localkube"


def real_kubelet(images: ImageMap, time_factor: float) -> KubeletFactory:
    """A factory for engineer K2's kubelet (imported only when a server starts)."""

    def build(api: Api, state_dir: Path) -> KubeletLike:
        from drillbook.platform.local.kube.kubelet import Kubelet

        kubelet: KubeletLike = Kubelet(
            node_name=NODE_NAME, images=images, lookup=api.store, sink=api, state_dir=state_dir, time_factor=time_factor
        )
        return kubelet

    return build


def _node() -> JsonObj:
    memory_kib = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 1024
    resources = {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{memory_kib}Ki",
        "pods": "110",
        "ephemeral-storage": "100Gi",
    }
    conditions = [
        {"type": t, "status": "False", "reason": f"KubeletHasSufficient{t[:-8] or t}", "message": m}
        for t, m in (
            ("MemoryPressure", "kubelet has sufficient memory available"),
            ("DiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "kubelet has sufficient PID available"),
        )
    ]
    conditions.append(
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
    )
    from drillbook.platform.local.kube.store import now_rfc3339

    for c in conditions:
        c["lastHeartbeatTime"] = c["lastTransitionTime"] = now_rfc3339()
    return {
        "metadata": {
            "name": NODE_NAME,
            "labels": {
                "kubernetes.io/hostname": NODE_NAME,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/control-plane": "",
            },
        },
        "spec": {},
        "status": {
            "capacity": resources,
            "allocatable": dict(resources),
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_NAME}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "localkube",
                "systemUUID": "localkube",
                "bootID": "localkube",
                "kernelVersion": platform.release(),
                "osImage": "drillbook localkube",
                "containerRuntimeVersion": "localkube://1",
                "kubeletVersion": VERSION["gitVersion"],
                "kubeProxyVersion": VERSION["gitVersion"],
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


class LocalKubeServer:
    """Everything localkube runs, in the current event loop."""

    def __init__(
        self,
        *,
        state_dir: Path,
        kubelet_factory: KubeletFactory | None,
        host: str = "127.0.0.1",
        port: int = 0,
        time_factor: float = 1.0,
    ) -> None:
        self.state_dir = state_dir
        self.host = host
        self.port = port
        self.store = Store()
        self.api = Api(self.store, time_factor=time_factor)
        self.proxies = ServiceProxies(self.store)
        self.controllers = ControllerManager(self.api, on_sync=self.proxies.sync)
        self._kubelet_factory = kubelet_factory
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    @property
    def url(self) -> str:
        """The API server's base URL."""
        return f"http://{self.host}:{self.port}"

    def _bootstrap(self) -> None:
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.api.create("namespaces", {"metadata": {"name": ns}})
            self.api.create("serviceaccounts", {"metadata": {"name": "default"}}, namespace=ns)
        self.api.create("nodes", _node())
        # The node's heartbeat lease: `kubectl describe node` shows its holder and renew time.
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lease = {"metadata": {"name": NODE_NAME}, "spec": {"holderIdentity": NODE_NAME, "leaseDurationSeconds": 40,
                 "renewTime": now}}  # fmt: skip
        self.api.create("leases", lease, namespace="kube-node-lease")

    async def start(self) -> None:
        """Bind the port, start the kubelet and the controllers."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._bootstrap()
        if self._kubelet_factory is not None:
            kubelet = self._kubelet_factory(self.api, self.state_dir / "kubelet")
            await kubelet.start()
            self.api.kubelet = kubelet
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app[API_KEY] = self.api
        app[CLOSING_KEY] = self._closing
        app[NODE_METRICS_KEY] = NodeMetrics(self.state_dir)  # the node proxy's cAdvisor endpoint
        add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await self.stop()
            raise ClusterError(
                f"localkube could not listen on {self.host}:{self.port}: {exc}. "
                "Pick another --port or leave it 0 for a free one."
            ) from exc
        server = site._server  # aiohttp exposes the bound port only here
        if self.port == 0 and server is not None:
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        self.controllers.start()

    async def stop(self) -> None:
        """Stop serving, kill every pod, close listeners; safe to call twice."""
        self._closing.set()
        await self.controllers.stop()
        if self.api.kubelet is not None:
            try:
                await self.api.kubelet.shutdown()
            except Exception:
                log.exception("kubelet shutdown failed")
        await self.api.close()
        await self.proxies.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
