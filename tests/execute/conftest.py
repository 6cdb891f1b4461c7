"""A fake sandbox view: fixed loopback addresses, so the executor can be tested without a cluster."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


class FakeView:
    def __init__(self) -> None:
        self.services: dict[tuple[str, str], tuple[str, int]] = {}

    def service_address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        return self.services.get((namespace, name), ("127.20.0.9", port or 8080))

    def pod_name(self, namespace: str, selector: str) -> str:
        return f"{selector.rsplit('=', maxsplit=1)[-1]}-6d4b7c9f8-x2kq7"

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": "/nonexistent/kubeconfig", "DATABASE_URL": "postgresql://u:p@127.20.0.1:5432/db"}

    def tool_dirs(self) -> list[Path]:
        return [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]


@pytest.fixture
def view() -> FakeView:
    return FakeView()


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory a contained step command can see: readable by its user, outside the /tmp it gets its own of."""
    base = "/run" if os.access("/run", os.W_OK) else None
    path = Path(tempfile.mkdtemp(prefix="drillbook-test-", dir=base))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
