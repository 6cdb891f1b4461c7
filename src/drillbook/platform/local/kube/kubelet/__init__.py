"""The localkube kubelet: runs each pod's containers as local process groups started from an image map.

K1's API server imports only the names in ``__all__``; see ``/work/briefs/kube-interface.md`` for the contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from drillbook.platform.local.kube.ips import PodIPPool
from drillbook.platform.local.kube.kubelet.errors import KubeletError
from drillbook.platform.local.kube.kubelet.images import ImageMap, ImageSpec
from drillbook.platform.local.kube.kubelet.logs import LogQuery, read_log
from drillbook.platform.local.kube.kubelet.loopback import adapt_exec, pod_listeners, write_wrapper
from drillbook.platform.local.kube.kubelet.metrics import ContainerUsage
from drillbook.platform.local.kube.kubelet.pod import PodWorker
from drillbook.platform.local.kube.kubelet.process import ExecProcess, process_groups
from drillbook.platform.local.kube.kubelet.runtime import ContainerRuntime, NodeContext, ObjectLookup, PodSink
from drillbook.platform.local.kube.kubelet.volumes import rewrite_argv

__all__ = [
    "ContainerUsage",
    "ExecSession",
    "ImageMap",
    "ImageSpec",
    "JsonObj",
    "Kubelet",
    "KubeletError",
    "ObjectLookup",
    "PodSink",
]

JsonObj = dict[str, Any]
log = logging.getLogger(__name__)

#: How often CPU/RSS are sampled and memory limits enforced (real seconds; not scaled, it is a measurement).
SAMPLE_INTERVAL_S = 0.25


class ExecSession(Protocol):
    """A running ``kubectl exec`` command."""

    async def write_stdin(self, data: bytes) -> None:
        """Send bytes to stdin."""
        ...

    async def close_stdin(self) -> None:
        """Signal EOF on stdin."""
        ...

    async def read(self) -> tuple[int, bytes] | None:
        """``(1 stdout | 2 stderr, chunk)``; ``None`` at EOF of both."""
        ...

    async def wait(self) -> int:
        """The exit code."""
        ...

    async def kill(self) -> None:
        """Kill the command."""
        ...


class Kubelet:
    """Runs pods bound to one node as local processes and reports their status and events through a sink."""

    def __init__(
        self,
        *,
        node_name: str,
        images: ImageMap,
        lookup: ObjectLookup,
        sink: PodSink,
        state_dir: Path,
        time_factor: float = 1.0,
        api_server: tuple[str, int] | None = None,
    ) -> None:
        """Create a kubelet; nothing runs until :meth:`start`.

        Args:
            node_name: The node this kubelet serves (pods with ``spec.nodeName`` equal to it).
            images: Image reference → local command.
            lookup: Read access to secrets, configmaps and services.
            sink: Receives pod statuses and events.
            state_dir: Per-run directory for logs and container homes (never the user's home).
            time_factor: Scales back-off, probe timing and grace periods (0.1 = 10x faster); messages keep
                nominal values.
            api_server: (host, port) for KUBERNETES_SERVICE_HOST/PORT when no ``default/kubernetes`` service exists.
        """
        self._node = NodeContext(
            node_name=node_name,
            images=images,
            lookup=lookup,
            sink=sink,
            state_dir=Path(state_dir),
            time_factor=time_factor,
            api_server=api_server,
        )
        self._workers: dict[str, PodWorker] = {}
        self._by_name: dict[tuple[str, str], PodWorker] = {}
        self._ips = PodIPPool()
        self._sampler: asyncio.Task[None] | None = None

    @property
    def node_name(self) -> str:
        """The node this kubelet serves."""
        return self._node.node_name

    async def start(self) -> None:
        """Start background sampling (CPU, memory limits)."""
        self._node.state_dir.mkdir(parents=True, exist_ok=True)
        if self._sampler is None:
            self._sampler = asyncio.create_task(self._sample_loop())

    async def sync_pod(self, pod: JsonObj) -> None:
        """Start a new pod (by uid) or take a newer version of a known one; idempotent."""
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid", ""))
        worker = self._workers.get(uid)
        if worker is not None:
            if not worker.stopped():
                worker.update(pod)
            return
        if meta.get("deletionTimestamp"):
            return  # deleted before it ever ran here: nothing to start
        worker = PodWorker(self._node, pod, self._ips.allocate())
        self._workers[uid] = worker
        self._by_name[(worker.namespace, worker.name)] = worker
        worker.start()

    async def kill_pod(self, pod: JsonObj, grace_period_s: float | None = None) -> None:
        """Stop a pod's containers (SIGTERM, then SIGKILL after the scaled grace period) and forget it.

        Args:
            pod: The pod object (its uid selects the worker).
            grace_period_s: Nominal grace seconds overriding ``spec.terminationGracePeriodSeconds``.
        """
        uid = str((pod.get("metadata") or {}).get("uid", ""))
        worker = self._workers.get(uid)
        if worker is None:
            return
        worker.pod = pod
        # A second kill_pod while the first waits (kubectl delete --force) shortens the grace: it SIGKILLs at once.
        await worker.kill(grace_period_s)
        if self._workers.get(uid) is not worker:
            return  # a concurrent kill_pod already released it (and its IP may belong to a new pod by now)
        del self._workers[uid]
        if self._by_name.get((worker.namespace, worker.name)) is worker:
            del self._by_name[(worker.namespace, worker.name)]
        self._ips.release(worker.pod_ip)

    def _worker(self, namespace: str, name: str) -> PodWorker:
        worker = self._by_name.get((namespace, name))
        if worker is None:
            raise KubeletError(f'pods "{name}" not found on node {self.node_name}', http_status=404)
        return worker

    def _container(self, worker: PodWorker, container: str | None) -> ContainerRuntime:
        if container is None:
            if len(worker.containers) == 1:
                return worker.containers[0]
            names = " ".join(rt.name for rt in worker.containers)
            raise KubeletError(f"a container name must be specified for pod {worker.name}, choose one of: [{names}]")
        for rt in worker.all_containers():
            if rt.name == container:
                return rt
        names = " ".join(rt.name for rt in worker.all_containers())
        raise KubeletError(
            f"container {container} is not valid for pod {worker.name}; its containers are [{names}]", http_status=404
        )

    def logs(
        self,
        namespace: str,
        name: str,
        container: str | None,
        *,
        previous: bool = False,
        tail_lines: int | None = None,
        since_seconds: float | None = None,
        timestamps: bool = False,
        follow: bool = False,
        limit_bytes: int | None = None,
    ) -> AsyncIterator[bytes]:
        """A container's log lines (``kubectl logs``); raises at once for an unknown pod/container or no previous run.

        Raises:
            KubeletError: 404 for an unknown pod or container, 400 when the requested run does not exist.
        """
        worker = self._worker(namespace, name)
        rt = self._container(worker, container)
        query = LogQuery(
            tail_lines=tail_lines, since_seconds=since_seconds, timestamps=timestamps, limit_bytes=limit_bytes
        )
        if previous:
            index = rt.run_index - 1
            if index < 0 or not rt.log_path(index).exists():
                raise KubeletError(f'previous terminated container "{rt.name}" in pod "{name}" not found')
            return read_log(rt.log_path(index), query)
        if rt.run_index < 0:
            reason = rt.record.state.get("waiting", {}).get("reason", "ContainerCreating")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                reason = "trying and failing to pull image"
            raise KubeletError(f'container "{rt.name}" in pod "{name}" is waiting to start: {reason}')
        index = rt.run_index

        def still_writing() -> bool:
            return rt.run_index == index and rt.record.is_running and not worker.stopped()

        return read_log(rt.log_path(index), query, follow=still_writing if follow else None)

    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], *, stdin: bool, tty: bool
    ) -> ExecSession:
        """Run ``command`` in a running container's environment (env vars, cwd); ``tty`` is accepted but not emulated.

        Raises:
            KubeletError: 404 for an unknown pod/container, 400 when the container is not running or the
                command is empty.
        """
        worker = self._worker(namespace, name)
        rt = self._container(worker, container)
        if not rt.record.is_running:
            raise KubeletError(
                f'container not found ("{rt.name}"): it is not running; check `kubectl describe pod {name}`'
            )
        if not command:
            raise KubeletError("expected a command to execute, got an empty command")
        argv = rewrite_argv(command, rt.mounts)
        # "localhost" in a pod is the pod: hand the command the pod's own socket and address (loopback.py).
        groups = process_groups()
        container_pids = groups.get(rt.process.pgid, []) if rt.process is not None else []
        pod_pids = [
            pid for c in worker.all_containers() if c.process is not None for pid in groups.get(c.process.pgid, [])
        ]
        pod = pod_listeners(worker.name, worker.pod_ip, container_pids, pod_pids)
        plan = adapt_exec(argv, rt.env, pod, worker.dir / "exec-bin")
        try:
            if plan.wrapper is not None:
                write_wrapper(plan.wrapper)
            session = await ExecProcess.start(plan.argv, plan.env, rt.cwd, stdin=stdin)
        except OSError as exc:
            raise KubeletError(f"could not start exec in container {rt.name}: {exc}", http_status=500) from exc
        for note in plan.notes:
            session.say(note)
        rt.execs = [e for e in rt.execs if not e.done]
        rt.execs.append(session)
        return session

    def metrics(self, namespace: str, name: str) -> dict[str, ContainerUsage]:
        """Latest CPU (nanocores over the last sampling interval) and RSS per running container.

        Raises:
            KubeletError: 404 for an unknown pod.
        """
        worker = self._worker(namespace, name)
        return {rt.name: rt.meter.usage for rt in worker.containers if rt.meter is not None and rt.record.is_running}

    async def shutdown(self) -> None:
        """Kill every pod's processes (short grace) and stop sampling; no process is left behind."""
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        workers = list(self._workers.values())
        await asyncio.gather(*(w.kill(max_real_s=1.0) for w in workers), return_exceptions=True)
        for worker in workers:
            self._ips.release(worker.pod_ip)
        self._workers.clear()
        self._by_name.clear()

    async def _sample_loop(self) -> None:
        while True:
            try:
                await self._sample_once()
            except Exception:  # sampling must keep running for OOM enforcement; the cause is logged
                log.exception("sampling container usage failed")
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    async def _sample_once(self) -> None:
        groups = process_groups()
        for worker in list(self._workers.values()):
            for rt in worker.all_containers():
                if rt.meter is None or rt.process is None or not rt.record.is_running:
                    continue
                usage = rt.meter.sample(groups.get(rt.meter.pgid, []))
                limit = rt.memory_limit
                if limit is not None and usage.memory_bytes > limit and not rt.oom:
                    rt.oom = True
                    rt.process.signal(signal.SIGKILL)
                    await worker.event(
                        "Warning",
                        "OOMKilled",
                        f"Container {rt.name} exceeded its memory limit "
                        f"({rt.spec['resources']['limits']['memory']}): {usage.memory_bytes} bytes in use; killed",
                    )
