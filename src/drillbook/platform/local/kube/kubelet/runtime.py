"""Shared kubelet context and the per-container runtime record the pod worker drives."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from drillbook.platform.local.kube.kubelet.backoff import Backoff
from drillbook.platform.local.kube.kubelet.images import ImageMap
from drillbook.platform.local.kube.kubelet.metrics import GroupMeter, parse_quantity
from drillbook.platform.local.kube.kubelet.process import ContainerProcess, ExecProcess
from drillbook.platform.local.kube.kubelet.status import ContainerRecord
from drillbook.platform.local.kube.kubelet.volumes import Mount

JsonObj = dict[str, Any]
log = logging.getLogger(__name__)


class ObjectLookup(Protocol):
    """Read access to the API store (K1 implements)."""

    def get(self, resource: str, namespace: str, name: str) -> JsonObj | None:
        """One object (``resource``: "secrets", "configmaps"), or ``None``."""
        ...

    def list(self, resource: str, namespace: str) -> list[JsonObj]:
        """All objects of a resource in a namespace (``resource``: "services")."""
        ...


class PodSink(Protocol):
    """Where the kubelet reports (K1 implements)."""

    async def update_pod_status(self, namespace: str, name: str, uid: str, status: JsonObj) -> None:
        """Store a complete pod status if the pod with that uid still exists."""
        ...

    async def record_event(self, pod: JsonObj, type_: str, reason: str, message: str) -> None:
        """Create or aggregate a core/v1 Event about the pod (``type_``: "Normal" | "Warning")."""
        ...


@dataclass(frozen=True)
class NodeContext:
    """What every pod worker of one kubelet shares."""

    node_name: str
    images: ImageMap
    lookup: ObjectLookup
    sink: PodSink
    state_dir: Path
    time_factor: float
    api_server: tuple[str, int] | None = None

    def real(self, nominal_s: float, floor_s: float = 0.05) -> float:
        """Real seconds for a nominal Kubernetes duration."""
        return max(nominal_s * self.time_factor, floor_s)


@dataclass
class ContainerRuntime:
    """One container of a pod: spec, reported record, current process and everything tied to its runs."""

    spec: JsonObj
    init: bool
    log_dir: Path
    time_factor: float
    record: ContainerRecord = field(init=False)
    backoff: Backoff = field(init=False)
    image_backoff: Backoff = field(init=False)
    process: ContainerProcess | None = None
    spawning: asyncio.Future[ContainerProcess] | None = None
    meter: GroupMeter | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    user: tuple[int, int] | None = None
    run_index: int = -1
    started_wall: float = 0.0
    started_mono: float = 0.0
    oom: bool = False
    lowered: bool = False
    """The current run started at a lower CPU priority and has not turned ready yet (see ``kubelet.priority``)."""
    spec_changed: bool = False
    execs: list[ExecProcess] = field(default_factory=list)
    probes: list[asyncio.Task[None]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    after_startup: Callable[[], None] | None = None
    mounts: list[Mount] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.record = ContainerRecord(name=self.name, image=str(self.spec.get("image", "")))
        self.backoff = Backoff(time_factor=self.time_factor)
        self.image_backoff = Backoff(time_factor=self.time_factor)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def name(self) -> str:
        """The container name."""
        return str(self.spec["name"])

    @property
    def memory_limit(self) -> int | None:
        """``resources.limits.memory`` in bytes, or ``None``."""
        value = ((self.spec.get("resources") or {}).get("limits") or {}).get("memory")
        try:
            return int(parse_quantity(value)) if value is not None else None
        except ValueError:
            return None  # the API server validates quantities; an unparsable one is treated as no limit

    def log_path(self, index: int | None = None) -> Path:
        """The log file of run ``index`` (default: the latest run)."""
        return self.log_dir / f"{self.run_index if index is None else index}.log"

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake early when the spec changes or the pod stops."""
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=seconds)

    def stop_probes(self) -> None:
        """Cancel this run's probe workers."""
        for task in self.probes:
            task.cancel()
        self.probes.clear()

    async def kill_execs(self) -> None:
        """Kill exec sessions still running in this container (they die with it, as upstream)."""
        for session in self.execs:
            if not session.done:
                await session.kill()
        self.execs.clear()
