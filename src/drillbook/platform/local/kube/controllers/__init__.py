"""The controller manager: one loop that runs every controller whenever the store changes (and on a tick)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.controllers import daemonset, endpoints, gc, job, replicaset, statefulset
from drillbook.platform.local.kube.controllers.deployment import DeploymentController
from drillbook.platform.local.kube.controllers.hpa import HpaController
from drillbook.platform.local.kube.store import EventType

log = logging.getLogger(__name__)
WATCHED = frozenset(
    {
        "pods",
        "replicasets",
        "replicationcontrollers",
        "daemonsets",
        "deployments",
        "statefulsets",
        "services",
        "endpoints",
        "jobs",
    }
)

#: Seconds between reconciles when nothing changes (progress deadlines and back-offs need a clock).
TICK_S = 0.5
#: Seconds to let a burst of changes settle before reconciling.
DEBOUNCE_S = 0.01


class ControllerManager:
    """Runs the scheduler and the controllers, level-triggered, in one task."""

    def __init__(self, api: Api, on_sync: Callable[[], None] | None = None) -> None:
        self.api = api
        self._wake = asyncio.Event()
        self._deployments = DeploymentController(api)
        self._hpas = HpaController(api)
        self._on_sync = on_sync
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        api.store.add_listener(self._changed)

    def _changed(self, resource: str, _type: EventType, _obj: dict[str, Any]) -> None:
        if resource in WATCHED:
            self._wake.set()

    def reconcile(self) -> None:
        """Run every controller once, each isolated so one failure does not stop the others."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("deployment", self._deployments.sync),
            ("replicaset", lambda: replicaset.sync(self.api)),
            ("replication-controller", self._replication_controllers),
            ("daemonset", lambda: daemonset.sync(self.api)),
            ("statefulset", lambda: statefulset.sync(self.api)),
            ("job", lambda: job.sync(self.api)),
            ("horizontal-pod-autoscaler", self._hpas.sync),
            ("scheduler", lambda: gc.schedule(self.api)),
            ("endpoints", lambda: endpoints.sync(self.api)),
            ("garbage-collector", lambda: gc.collect(self.api)),
        ]
        if self._on_sync is not None:
            steps.append(("services", self._on_sync))
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("controller %s failed; continuing", name)

    def _replication_controllers(self) -> None:
        replicaset.sync(self.api, "replicationcontrollers", "replication-controller")

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)
            self._wake.clear()
            if self._stop.is_set():
                break
            await asyncio.sleep(DEBOUNCE_S)
            self.reconcile()

    def start(self) -> None:
        """Start the loop in the running event loop."""
        self._stop.clear()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop the loop by flag, not by cancellation: Python 3.11's ``wait_for`` can swallow a cancel."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
