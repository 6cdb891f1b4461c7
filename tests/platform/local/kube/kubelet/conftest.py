"""Fixtures for the kubelet tests (helpers live in kubelet_fakes.py, a name no other test folder uses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from kubelet_fakes import Env


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


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """A kubelet environment; teardown kills (by PID) and reports any container process left behind."""
    kubelet_env = Env(tmp_path / "state")
    yield kubelet_env
    leftovers = _container_processes(kubelet_env.state_dir)
    for proc in leftovers:
        proc.kill()
    psutil.wait_procs(leftovers, timeout=3)
    assert [p.pid for p in leftovers] == [], "the kubelet left container processes behind"
