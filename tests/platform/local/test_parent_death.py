"""When the process that started the local platform is killed with SIGKILL (a cancelled CI job, a crashed game
day), what it started ends too — localkube with every pod process, and PostgreSQL, Redis and the fault proxy
started straight from Python (test fixtures, tools) in sessions of their own: nothing is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

LOCALKUBE = """
import sys, time
from pathlib import Path
from drillbook.platform.local.datastores import IMAGES_FILE
from drillbook.platform.local.kube import LocalKubeProcess
kube = LocalKubeProcess(state_dir=Path(sys.argv[1]), images=[IMAGES_FILE])
kube.start()
print(kube.process.pid, flush=True)
time.sleep(600)
"""

SERVERS = """
import sys, time
from pathlib import Path
from drillbook.platform.local.datastores import PostgresInstance, RedisInstance
from drillbook.platform.local.toxiproxy import ToxiproxyProcess
base = Path(sys.argv[1])
servers = [PostgresInstance(base_dir=base / "pg").start(), RedisInstance(base_dir=base / "redis").start(),
           ToxiproxyProcess().start()]
print(*(server.pid for server in servers), flush=True)
time.sleep(600)
"""


@contextmanager
def _starter(script: str, workdir: Path) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """Run ``script`` in its own session; yield it and the pids it printed. It is always SIGKILLed at the end."""
    starter = subprocess.Popen(
        [sys.executable, "-c", script, str(workdir)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert starter.stdout is not None
        yield starter, [int(pid) for pid in starter.stdout.readline().split()]
    finally:
        if starter.poll() is None:
            os.killpg(starter.pid, signal.SIGKILL)
            starter.wait()


def _kill_and_expect_gone(starter: subprocess.Popen[str], watched: list[psutil.Process]) -> None:
    os.killpg(starter.pid, signal.SIGKILL)
    starter.wait(timeout=10)
    _gone, alive = psutil.wait_procs(watched, timeout=20)
    assert not alive, f"still running after their starter died: {[(p.pid, p.name()) for p in alive]}"


def test_localkube_ends_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    with _starter(LOCALKUBE, tmp_path) as (starter, (kube_pid,)):
        env = {**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig"), "KUBECACHEDIR": str(tmp_path / "cache")}
        subprocess.run(["kubectl", "create", "deployment", "cache", "--image=redis:7"], env=env, check=True, timeout=60)
        deadline = time.monotonic() + 60
        family: list[psutil.Process] = []
        while time.monotonic() < deadline and len(family) < 2:
            family = [p for p in psutil.Process(kube_pid).children(recursive=True) if "redis" in " ".join(p.cmdline())]
            time.sleep(0.2)
        assert family, "the redis pod never started"
        _kill_and_expect_gone(starter, [psutil.Process(kube_pid), *family])


def test_servers_end_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    with _starter(SERVERS, tmp_path) as (starter, pids):
        assert len(pids) == 3, "the starter did not bring up PostgreSQL, Redis and the fault proxy"
        servers = [psutil.Process(pid) for pid in pids]
        assert all(os.getpgid(server.pid) != starter.pid for server in servers), "each runs in its own session"
        children = [child for server in servers for child in server.children(recursive=True)]
        assert children, "PostgreSQL runs its background workers as children"
        _kill_and_expect_gone(starter, servers + children)
