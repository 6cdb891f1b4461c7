"""The kubelet as localkube sees it: structural types mirroring the K1/K2 contract.

The real implementation is ``drillbook.platform.local.kube.kubelet.Kubelet``; these Protocols let the API server
and its tests depend on the contract rather than on that module (tests hand in a fake kubelet).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

JsonObj = dict[str, Any]


class UsageLike(Protocol):
    """One container's resource usage (``ContainerUsage`` in the contract)."""

    @property
    def cpu_nanocores(self) -> int: ...
    @property
    def memory_bytes(self) -> int: ...


class ExecSessionLike(Protocol):
    """A running exec (``ExecSession`` in the contract)."""

    async def write_stdin(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    async def read(self) -> tuple[int, bytes] | None: ...
    async def wait(self) -> int: ...
    async def kill(self) -> None: ...


class KubeletLike(Protocol):
    """The pod runtime localkube drives (``Kubelet`` in the contract)."""

    async def start(self) -> None: ...
    async def sync_pod(self, pod: JsonObj) -> None: ...
    async def kill_pod(self, pod: JsonObj, grace_period_s: float | None = None) -> None: ...
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
    ) -> AsyncIterator[bytes]: ...
    async def exec(
        self, namespace: str, name: str, container: str | None, command: list[str], *, stdin: bool, tty: bool
    ) -> ExecSessionLike: ...
    def metrics(self, namespace: str, name: str) -> dict[str, Any]: ...
    async def shutdown(self) -> None: ...
