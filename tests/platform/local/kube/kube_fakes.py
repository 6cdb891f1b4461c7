"""A fake kubelet keeping to the K1/K2 contract, so API-server tests run without real processes."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from drillbook.errors import ClusterError
from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.store import now_rfc3339

JsonObj = dict[str, Any]


class FakeKubeletError(ClusterError):
    def __init__(self, message: str, http_status: int) -> None:
        super().__init__(message)
        self.http_status = http_status


@dataclass
class Usage:
    cpu_nanocores: int
    memory_bytes: int


@dataclass
class FakeSession:
    command: list[str]
    stdin: bytearray = field(default_factory=bytearray)
    chunks: list[tuple[int, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.chunks = [(1, " ".join(self.command).encode() + b"\n"), (2, b"warn\n")]

    async def write_stdin(self, data: bytes) -> None:
        self.stdin.extend(data)

    async def close_stdin(self) -> None:
        return None

    async def read(self) -> tuple[int, bytes] | None:
        return self.chunks.pop(0) if self.chunks else None

    async def wait(self) -> int:
        return int(self.command[-1]) if self.command[-1].isdigit() else 0

    async def kill(self) -> None:
        return None


class FakeKubelet:
    """Marks every pod Running and Ready at once with the next 127.10.0.x address."""

    def __init__(self, api: Api, *, ready: bool = True) -> None:
        self.api = api
        self.ready = ready
        self.ips: dict[str, str] = {}
        # A random /24 inside the pod range, so a concurrently running localkube's pods do not collide.
        self.subnet = f"127.10.{random.randint(100, 250)}"
        self.killed: list[str] = []
        self.log_calls: list[JsonObj] = []

    async def start(self) -> None:
        return None

    async def sync_pod(self, pod: JsonObj) -> None:
        meta = pod["metadata"]
        if meta["uid"] in self.ips:
            return
        ip = f"{self.subnet}.{len(self.ips) + 2}"
        self.ips[meta["uid"]] = ip
        flag = "True" if self.ready else "False"
        status = {
            "phase": "Running",
            "podIP": ip,
            "hostIP": "127.0.0.1",
            "startTime": now_rfc3339(),
            "conditions": [{"type": t, "status": flag} for t in ("Initialized", "ContainersReady", "Ready")],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c["image"],
                    "ready": self.ready,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now_rfc3339()}},
                }
                for c in pod["spec"]["containers"]
            ],
        }
        await self.api.update_pod_status(meta["namespace"], meta["name"], meta["uid"], status)
        await self.api.record_event(pod, "Normal", "Started", "Started container")

    async def kill_pod(self, pod: JsonObj, grace_period_s: float | None = None) -> None:
        self.killed.append(pod["metadata"]["name"])

    async def _lines(self, previous: bool) -> AsyncIterator[bytes]:
        if previous:
            raise FakeKubeletError('previous terminated container "c" in pod "p" not found', 400)
        yield b"one\n"
        yield b"two\n"

    def logs(self, namespace: str, name: str, container: str | None, **options: Any) -> AsyncIterator[bytes]:
        self.log_calls.append({"namespace": namespace, "name": name, "container": container, **options})
        return self._lines(bool(options.get("previous")))

    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], *, stdin: bool, tty: bool
    ) -> FakeSession:
        return FakeSession(command)

    def metrics(self, namespace: str, name: str) -> dict[str, Usage]:
        return {"c": Usage(5_000_000, 20 * 1024 * 1024)}

    async def shutdown(self) -> None:
        return None
