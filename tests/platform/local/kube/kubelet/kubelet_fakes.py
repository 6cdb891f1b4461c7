"""Fakes for the API-server side of the kubelet contract, helpers to drive a real Kubelet, and the ``env`` fixture.

No conftest.py here on purpose: sibling test folders import ``conftest`` by name, and a second conftest module
would shadow theirs. Test modules import ``env_fixture`` from here instead.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from drillbook.platform.local.kube.kubelet import ImageMap, ImageSpec, Kubelet

JsonObj = dict[str, Any]
TIME_FACTOR = 0.05


class FakeLookup:
    """An in-memory store of secrets, configmaps and services."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], JsonObj] = {}

    def add(self, resource: str, namespace: str, obj: JsonObj) -> None:
        self.objects[(resource, namespace, obj["metadata"]["name"])] = obj

    def get(self, resource: str, namespace: str, name: str) -> JsonObj | None:
        return self.objects.get((resource, namespace, name))

    def list(self, resource: str, namespace: str) -> list[JsonObj]:
        return [obj for (res, ns, _), obj in self.objects.items() if res == resource and ns == namespace]


class FakeSink:
    """Records every status and event the kubelet reports."""

    def __init__(self) -> None:
        self.statuses: list[tuple[str, str, str, JsonObj]] = []
        self.events: list[tuple[str, str, str, str]] = []  # (pod name, type, reason, message)

    async def update_pod_status(self, namespace: str, name: str, uid: str, status: JsonObj) -> None:
        self.statuses.append((namespace, name, uid, status))

    async def record_event(self, pod: JsonObj, type_: str, reason: str, message: str) -> None:
        self.events.append((pod["metadata"]["name"], type_, reason, message))

    def latest(self, name: str) -> JsonObj:
        for _, pod_name, _, status in reversed(self.statuses):
            if pod_name == name:
                return status
        raise AssertionError(f"no status reported for pod {name}; reported: {[s[1] for s in self.statuses]}")

    def reasons(self, name: str) -> list[str]:
        return [reason for pod, _, reason, _ in self.events if pod == name]

    async def wait_for(self, name: str, check: Callable[[JsonObj], bool], timeout: float = 15.0) -> JsonObj:
        """Wait until the latest status of ``name`` satisfies ``check``; fail with that status otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(s[1] == name for s in self.statuses) and check(self.latest(name)):
                return self.latest(name)
            await asyncio.sleep(0.02)
        last = self.latest(name) if any(s[1] == name for s in self.statuses) else None
        raise AssertionError(f"pod {name} never reached the expected status; last: {last}; events: {self.events}")

    async def wait_event(self, name: str, reason: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pod, _, got, message in self.events:
                if pod == name and got == reason:
                    return message
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {reason} event for pod {name}; events: {self.events}")


def container_status(status: JsonObj, index: int = 0) -> JsonObj:
    statuses: list[JsonObj] = status["containerStatuses"]
    return statuses[index]


def make_pod(name: str, containers: list[JsonObj], **spec: Any) -> JsonObj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "uid": str(uuid.uuid4())},
        "spec": {"nodeName": "node-1", "containers": containers, **spec},
    }


def python_container(name: str, code: str, **extra: Any) -> JsonObj:
    return {"name": name, "image": "python:3", "command": ["python", "-c", code], **extra}


class Env:
    """One kubelet with its fakes, driven from a synchronous test through :meth:`run`."""

    def __init__(self, state_dir: Path) -> None:
        self.lookup = FakeLookup()
        self.sink = FakeSink()
        self.images = ImageMap(
            {"python:3": ImageSpec(entrypoint=("python",)), "shell:1": ImageSpec(entrypoint=("/bin/sh", "-c"))}
        )
        self.state_dir = state_dir
        self.kubelet: Kubelet | None = None

    def run(self, body: Callable[[Kubelet], Any], timeout: float = 45.0) -> Any:
        async def main() -> Any:
            kubelet = Kubelet(
                node_name="node-1",
                images=self.images,
                lookup=self.lookup,
                sink=self.sink,
                state_dir=self.state_dir,
                time_factor=TIME_FACTOR,
            )
            self.kubelet = kubelet
            await kubelet.start()
            try:
                return await asyncio.wait_for(body(kubelet), timeout)
            finally:
                await kubelet.shutdown()

        return asyncio.run(main())


def _container_processes(state_dir: Path) -> list[psutil.Process]:
    """Processes started by a kubelet using ``state_dir``: their HOME lies under it."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("HOME", "").startswith(str(state_dir)):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.fixture(name="env")
def env_fixture(tmp_path: Path) -> Iterator[Env]:
    """A kubelet environment; teardown kills (by PID) and reports any container process left behind."""
    kubelet_env = Env(tmp_path / "state")
    yield kubelet_env
    leftovers = _container_processes(kubelet_env.state_dir)
    for proc in leftovers:
        proc.kill()
    psutil.wait_procs(leftovers, timeout=3)
    assert [p.pid for p in leftovers] == [], "the kubelet left container processes behind"
