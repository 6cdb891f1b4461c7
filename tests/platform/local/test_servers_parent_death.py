"""PostgreSQL, Redis and the fault proxy started straight from Python (test fixtures, tools) run in sessions of their
own; when the process that started them is killed with SIGKILL they end too, with every child: nothing is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

STARTER = """
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


def test_servers_end_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert starter.stdout is not None
        pids = [int(pid) for pid in starter.stdout.readline().split()]
        assert len(pids) == 3, "the starter did not bring up PostgreSQL, Redis and the fault proxy"
        watched = [psutil.Process(pid) for pid in pids]
        watched += [child for server in list(watched) for child in server.children(recursive=True)]
        assert len(watched) > 3, "PostgreSQL runs its background workers as children"
        assert all(os.getpgid(server.pid) != starter.pid for server in watched[:3]), "each runs in its own session"
        os.killpg(starter.pid, signal.SIGKILL)
        starter.wait(timeout=10)
        _gone, alive = psutil.wait_procs(watched, timeout=20)
        assert not alive, f"still running after their starter died: {[(p.pid, p.name()) for p in alive]}"
    finally:
        if starter.poll() is None:
            os.killpg(starter.pid, signal.SIGKILL)
            starter.wait()
