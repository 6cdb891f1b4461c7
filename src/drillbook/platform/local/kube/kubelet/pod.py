"""The per-pod worker: init containers, container runs, restarts, probes and status reporting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from drillbook.platform.local.kube.kubelet import priority, stock, volumes
from drillbook.platform.local.kube.kubelet.env import EnvContext, build_env, expand_argv
from drillbook.platform.local.kube.kubelet.errors import ContainerConfigError
from drillbook.platform.local.kube.kubelet.executable import start_error
from drillbook.platform.local.kube.kubelet.images import ImageSpec
from drillbook.platform.local.kube.kubelet.metrics import GroupMeter
from drillbook.platform.local.kube.kubelet.probes import ProbeTarget, ProbeWorker
from drillbook.platform.local.kube.kubelet.process import ContainerProcess
from drillbook.platform.local.kube.kubelet.runtime import ContainerRuntime, NodeContext
from drillbook.platform.local.kube.kubelet.status import Conditions, PodView, pod_status

JsonObj = dict[str, Any]
log = logging.getLogger(__name__)


def go_duration(seconds: float) -> str:
    """Format like Go's time.Duration (``10s``, ``1m20s``, ``5m0s``) for back-off messages."""
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{whole}s"


def _docker_ref(image: str) -> str:
    ref = image if ":" in image.rsplit("/", 1)[-1] else f"{image}:latest"
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        return f"docker.io/library/{ref}"
    return ref if "." in first or ":" in first else f"docker.io/{ref}"


class PodWorker:
    """Runs one pod (by uid) until it is killed; reports every change through the sink."""

    def __init__(self, node: NodeContext, pod: JsonObj, pod_ip: str) -> None:
        self.node = node
        self.pod = pod
        self.pod_ip = pod_ip
        meta = pod["metadata"]
        self.namespace = str(meta.get("namespace", "default"))
        self.name = str(meta["name"])
        self.uid = str(meta.get("uid", ""))
        self.dir = node.state_dir / "pods" / f"{self.namespace}_{self.name}_{self.uid}"
        spec = pod.get("spec") or {}
        self.init_containers = [self._runtime(c, init=True) for c in spec.get("initContainers") or []]
        self.containers = [self._runtime(c, init=False) for c in spec.get("containers") or []]
        self.initialized = not self.init_containers
        if self.init_containers:
            for rt in self.containers:
                rt.record.waiting("PodInitializing")
        self.init_failed = False
        self._stop = asyncio.Event()
        self.start_time = time.time()
        self.conditions = Conditions()
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._side_tasks: set[asyncio.Task[Any]] = set()

    def _runtime(self, spec: JsonObj, *, init: bool) -> ContainerRuntime:
        return ContainerRuntime(
            spec=spec, init=init, log_dir=self.dir / str(spec["name"]), time_factor=self.node.time_factor
        )

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and its status reporter."""
        self._tasks = [asyncio.create_task(self._report_loop()), asyncio.create_task(self._main())]

    def stopped(self) -> bool:
        """Whether the pod is being killed (a call, not an attribute, so checks after awaits are re-evaluated)."""
        return self._stop.is_set()

    def all_containers(self) -> list[ContainerRuntime]:
        """Init containers then regular containers."""
        return self.init_containers + self.containers

    def update(self, pod: JsonObj) -> None:
        """Take a newer version of the pod; a changed container image restarts that container."""
        self.pod = pod
        specs = {str(c["name"]): c for c in (pod.get("spec") or {}).get("containers") or []}
        for rt in self.containers:
            new = specs.get(rt.name)
            # Compare with the record, not the old spec: callers may hand in the same dict mutated in place.
            if new is None or str(new.get("image", "")) == rt.record.image:
                continue
            rt.spec = new
            rt.record.image, rt.record.pulled, rt.spec_changed = str(new.get("image", "")), False, True
            rt.wake.set()
            if rt.process is not None and rt.record.is_running:
                self._spawn(
                    self.event("Normal", "Killing", f"Container {rt.name} definition changed, will be restarted")
                )
                self._spawn(rt.process.terminate(self.grace_s()))

    def grace_s(self, override: float | None = None) -> float:
        """Real termination grace period (``terminationGracePeriodSeconds`` scaled by the time factor)."""
        nominal = (
            override
            if override is not None
            else float(self.pod.get("spec", {}).get("terminationGracePeriodSeconds", 30))
        )
        return nominal * self.node.time_factor

    async def kill(self, grace_override_s: float | None = None, *, max_real_s: float | None = None) -> None:
        """Stop every container (SIGTERM, SIGKILL after the grace period) and return once all processes are gone.

        Args:
            grace_override_s: Nominal grace seconds replacing the pod's terminationGracePeriodSeconds.
            max_real_s: Cap on the real grace period (shutdown does not wait 30 s per pod).
        """
        self._stop.set()
        grace = self.grace_s(grace_override_s)
        if max_real_s is not None:
            grace = min(grace, max_real_s)
        kills: list[Coroutine[Any, Any, object]] = []
        for rt in self.all_containers():
            rt.wake.set()
            rt.stop_probes()
            rt.record.ready = False  # a terminating pod leaves its services' endpoints at once, not after the grace
        self.mark()
        for rt in self.all_containers():
            if rt.process is not None and rt.record.is_running:
                await self.event("Normal", "Killing", f"Stopping container {rt.name}")
                kills.append(rt.process.terminate(grace))
            kills.append(rt.kill_execs())
        await asyncio.gather(*kills, return_exceptions=True)
        main = self._tasks[1] if len(self._tasks) > 1 else None
        if main is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(main, timeout=2.0)
        for task in [*self._tasks, *self._side_tasks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._side_tasks, return_exceptions=True)
        await self._sweep()
        for rt in self.all_containers():  # a stock postgres' data outside the pod's dir goes with the pod
            stock.remove_scratch([Path(rt.cwd) if rt.cwd else rt.log_dir / "home"], rt.env)
        await self._push()

    async def _sweep(self) -> None:
        """Kill runs that started while the pod was being stopped (a spawn in flight when kill began)."""
        for rt in self.all_containers():
            if rt.spawning is not None:
                with contextlib.suppress(Exception):
                    rt.process = await rt.spawning
                rt.spawning = None
            if rt.process is not None and rt.process.exit_code is None:
                code = await rt.process.terminate(0)
                if rt.record.is_running:
                    rt.record.terminated(code, "Error", rt.started_wall)

    # -- main flow -------------------------------------------------------------------------------------------

    async def _main(self) -> None:
        try:
            self.mark()
            for rt in self.init_containers:
                if not await self._run_container(rt):
                    if not self.stopped():
                        self.init_failed = True
                        self.mark()
                    return
                self.mark()
            self.initialized = True
            self.mark()
            await asyncio.gather(*(self._run_container(rt) for rt in self.containers))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod worker for %s/%s crashed", self.namespace, self.name)
            raise

    def _restart_policy(self, rt: ContainerRuntime) -> str:
        policy = str((self.pod.get("spec") or {}).get("restartPolicy", "Always"))
        if rt.init and policy == "Always":
            return "OnFailure"  # init containers are never restarted after success
        return policy

    async def _run_container(self, rt: ContainerRuntime) -> bool:
        """Run a container until the restart policy says stop; returns whether its last run succeeded."""
        while not self.stopped():
            image = await self._pull(rt)
            if image is None:
                return False
            if not await self._start(rt, image):
                continue
            assert rt.process is not None
            if self.stopped():  # kill() ran while this run was starting
                await rt.process.terminate(0)
            code = await rt.process.wait()
            reason = (
                "OOMKilled"
                if rt.oom
                else ("StartError" if rt.process.start_error else ("Completed" if code == 0 else "Error"))
            )
            rt.stop_probes()
            await rt.kill_execs()
            await rt.process.reap_group()
            rt.record.terminated(code, reason, rt.started_wall, rt.process.start_error)
            rt.meter = None
            self.mark()
            if self.stopped():
                return code == 0
            policy = self._restart_policy(rt)
            if not rt.spec_changed and (policy == "Never" or (policy == "OnFailure" and code == 0)):
                return code == 0
            await self._before_restart(rt)
        return False

    async def _before_restart(self, rt: ContainerRuntime) -> None:
        rt.record.last_state = dict(rt.record.state)
        if rt.spec_changed:
            rt.spec_changed = False
        else:
            delay = rt.backoff.failed(time.monotonic() - rt.started_mono)
            if delay > 0:
                pod_ref = f"{self.name}_{self.namespace}({self.uid})"
                rt.record.waiting(
                    "CrashLoopBackOff",
                    f"back-off {go_duration(delay)} restarting failed container={rt.name} pod={pod_ref}",
                )
                self.mark()
                await self.event(
                    "Warning", "BackOff", f"Back-off restarting failed container {rt.name} in pod {pod_ref}"
                )
                await rt.sleep(rt.backoff.real(delay))
        rt.record.restart_count += 1

    async def _pull(self, rt: ContainerRuntime) -> ImageSpec | None:
        while not self.stopped():
            image_name = rt.record.image
            image = self.node.images.resolve(image_name)
            if image is not None:
                # Upstream reports this before every container (re)creation (seen aggregated as "x5" in describe).
                rt.record.pulled = True
                rt.spec_changed = False  # this run uses the new spec: later exits follow the restart policy again
                rt.image_backoff.reset()
                await self.event("Normal", "Pulled", f'Container image "{image_name}" already present on machine')
                return image
            ref = _docker_ref(image_name)
            detail = (
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                f'failed to resolve reference "{ref}": {ref}: not found'
            )
            await self.event("Normal", "Pulling", f'Pulling image "{image_name}"')
            rt.record.waiting("ErrImagePull", detail)
            self.mark()
            await self.event("Warning", "Failed", f'Failed to pull image "{image_name}": {detail}')
            await self.event("Warning", "Failed", "Error: ErrImagePull")
            await rt.sleep(self.node.real(1.0))
            if self.stopped() or rt.spec_changed:
                rt.spec_changed = False
                continue
            delay = rt.image_backoff.failed() or rt.image_backoff.failed()
            rt.record.waiting("ImagePullBackOff", f'Back-off pulling image "{image_name}"')
            self.mark()
            await self.event("Normal", "BackOff", f'Back-off pulling image "{image_name}"')
            await self.event("Warning", "Failed", "Error: ImagePullBackOff")
            await rt.sleep(rt.image_backoff.real(delay))
            rt.spec_changed = False
        return None

    async def _start(self, rt: ContainerRuntime, image: ImageSpec) -> bool:
        """Build the environment and start one run; False (after waiting) when the config is not there yet."""
        ctx = EnvContext(pod=self.pod, pod_ip=self.pod_ip, lookup=self.node.lookup, api_server=self.node.api_server)
        try:
            env = build_env(ctx, rt.spec, image)
            volume_dirs = volumes.materialize(self.pod, self.node.lookup, self.dir, self.node.state_dir)
        except ContainerConfigError as exc:
            rt.record.waiting("CreateContainerConfigError", str(exc))
            self.mark()
            await self.event("Warning", "Failed", f"Error: {exc}")  # every retry, as upstream (aggregated by K1)
            await rt.sleep(self.node.real(10.0))
            return False
        # Each container gets its own directory as HOME and default cwd, standing in for its root filesystem:
        # images that write relative paths (pgdata, run/) must not share the kubelet's cwd or each other's.
        home = rt.log_dir / "home"
        home.mkdir(exist_ok=True)
        env.setdefault("HOME", str(home))
        rt.env, rt.user = env, self._user(rt)
        rt.mounts = volumes.mounts(rt.spec, volume_dirs)
        working_dir = rt.spec.get("workingDir")
        if working_dir:
            working_dir = volumes.rewrite_argv([str(working_dir)], rt.mounts)[0]
        rt.cwd = working_dir if working_dir and Path(working_dir).is_dir() else str(home)
        argv = expand_argv(image.argv(rt.spec.get("command"), rt.spec.get("args")), env)
        argv = volumes.rewrite_argv(argv, rt.mounts)
        problem = start_error(argv, env, rt.cwd)
        if problem is not None:
            await self._start_failed(rt, problem)
            return False
        rt.run_index += 1
        log_path = rt.log_path()
        log_path.write_bytes(b"")
        if rt.user is not None:
            os.chown(home, *rt.user)
        # Keep the latest two runs: enough for `logs --previous`.
        rt.log_path(rt.run_index - 2).unlink(missing_ok=True)
        await self.event("Normal", "Created", f"Created container {rt.name}")
        rt.oom = False
        rt.started_wall, rt.started_mono = time.time(), time.monotonic()
        # Shielded: a kill arriving mid-spawn must still find (and end) the process that spawn creates.
        rt.spawning = asyncio.ensure_future(ContainerProcess.start(argv, env, rt.cwd, log_path, rt.user))
        try:
            rt.process = await asyncio.shield(rt.spawning)
            rt.spawning = None
        except OSError as exc:
            rt.spawning = None
            rt.record.waiting("CreateContainerError", f"failed to start the container shim: {exc}")
            self.mark()
            await self.event("Warning", "Failed", f"Error: {exc}")
            await rt.sleep(self.node.real(10.0))
            return False
        rt.lowered = bool(rt.spec.get("readinessProbe")) and not rt.init and priority.lower(rt.process.pgid)
        rt.meter = GroupMeter(rt.process.pgid, exclude=frozenset({rt.process.pid}))
        rt.record.running(rt.started_wall)
        await self.event("Normal", "Started", f"Started container {rt.name}")
        if not rt.init:
            self._start_probes(rt)
        self.mark()
        return True

    async def _start_failed(self, rt: ContainerRuntime, message: str) -> None:
        """The runtime cannot start the command (it is not there): say so as upstream does, then back off.

        Waiting an image out cannot fix this, so the reason stays ``RunContainerError`` with runc's message through
        the back-off: whoever waits for the pod sees the cause, not a container that seems to be starting.
        """
        rt.record.waiting("RunContainerError", message)
        self.mark()
        await self.event("Warning", "Failed", f"Error: {message}")
        delay = rt.backoff.failed()
        if delay > 0:
            pod_ref = f"{self.name}_{self.namespace}({self.uid})"
            await self.event("Warning", "BackOff", f"Back-off restarting failed container {rt.name} in pod {pod_ref}")
        await rt.sleep(max(rt.backoff.real(delay), self.node.real(1.0)))

    def _user(self, rt: ContainerRuntime) -> tuple[int, int] | None:
        pod_ctx = (self.pod.get("spec") or {}).get("securityContext") or {}
        ctx = {**pod_ctx, **(rt.spec.get("securityContext") or {})}
        if ctx.get("runAsUser") is None:
            return None
        uid = int(ctx["runAsUser"])
        return uid, int(ctx.get("runAsGroup", uid))

    # -- probes ----------------------------------------------------------------------------------------------

    def _start_probes(self, rt: ContainerRuntime) -> None:
        ports = {str(p["name"]): int(p["containerPort"]) for p in rt.spec.get("ports") or [] if p.get("name")}
        target = ProbeTarget(pod_ip=self.pod_ip, ports=ports, env=rt.env, cwd=rt.cwd)

        def worker(kind: str, spec: JsonObj) -> asyncio.Task[None]:
            async def unhealthy(message: str) -> None:
                await self.event("Warning", "Unhealthy", message)

            async def changed(ok: bool) -> None:
                await self._probe_changed(rt, kind, ok)

            probe = ProbeWorker(
                kind, spec, target, time_factor=self.node.time_factor, on_unhealthy=unhealthy, on_change=changed
            )
            return asyncio.create_task(probe.run())

        def after_startup() -> None:
            rt.record.started = True
            if rt.spec.get("livenessProbe"):
                rt.probes.append(worker("Liveness", rt.spec["livenessProbe"]))
            if rt.spec.get("readinessProbe"):
                rt.probes.append(worker("Readiness", rt.spec["readinessProbe"]))
            else:
                rt.record.ready = True

        rt.after_startup = after_startup
        if rt.spec.get("startupProbe"):
            rt.probes.append(worker("Startup", rt.spec["startupProbe"]))
        else:
            after_startup()

    async def _probe_changed(self, rt: ContainerRuntime, kind: str, ok: bool) -> None:
        if not rt.record.is_running or rt.process is None:
            return
        if kind == "Readiness":
            rt.record.ready = ok
            if ok and rt.lowered:
                priority.restore(rt.process.pgid)
                rt.lowered = False
        elif kind == "Startup" and ok:
            if rt.after_startup is not None:
                rt.after_startup()
        elif not ok:
            verb = "liveness" if kind == "Liveness" else "startup"
            await self.event("Normal", "Killing", f"Container {rt.name} failed {verb} probe, will be restarted")
            rt.record.ready = False
            self._spawn(rt.process.terminate(self.grace_s()))
        self.mark()

    # -- reporting -------------------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def event(self, type_: str, reason: str, message: str) -> None:
        """Record an event about this pod; a failing sink is logged, never fatal."""
        try:
            await self.node.sink.record_event(self.pod, type_, reason, message)
        except Exception:  # a failing sink must not stop the pod; the cause is logged
            log.exception("recording event %s for pod %s/%s failed", reason, self.namespace, self.name)

    def mark(self) -> None:
        """Note that the status changed; the reporter sends the latest one."""
        self._dirty.set()

    async def _report_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self._push()

    async def _push(self) -> None:
        try:
            await self.node.sink.update_pod_status(self.namespace, self.name, self.uid, self.status())
        except Exception:  # same reasoning as _event
            log.exception("reporting status of pod %s/%s failed", self.namespace, self.name)

    def status(self) -> JsonObj:
        """The complete pod status as the API shows it."""
        return pod_status(
            PodView(
                pod=self.pod,
                pod_ip=self.pod_ip,
                start_time=self.start_time,
                records=[rt.record for rt in self.containers],
                init_records=[rt.record for rt in self.init_containers],
                initialized=self.initialized,
                init_failed=self.init_failed,
            ),
            self.conditions,
        )
