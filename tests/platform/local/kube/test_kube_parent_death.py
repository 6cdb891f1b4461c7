"""When the process that started localkube is killed with SIGKILL (a cancelled CI job, a crashed game day),
localkube and every pod process it ran end too: nothing is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

STARTER = """
import sys, time
from pathlib import Path
from drillbook.platform.local.datastores import IMAGES_FILE
from drillbook.platform.local.kube import LocalKubeProcess
kube = LocalKubeProcess(state_dir=Path(sys.argv[1]), images=[IMAGES_FILE])
kube.start()
print(kube.process.pid, flush=True)
time.sleep(600)
"""


def test_localkube_ends_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert starter.stdout is not None
        kube_pid = int(starter.stdout.readline())
        env = {**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig"), "KUBECACHEDIR": str(tmp_path / "cache")}
        subprocess.run(["kubectl", "create", "deployment", "cache", "--image=redis:7"], env=env, check=True, timeout=60)
        deadline = time.monotonic() + 60
        family: list[psutil.Process] = []
        while time.monotonic() < deadline and len(family) < 2:
            family = [p for p in psutil.Process(kube_pid).children(recursive=True) if "redis" in " ".join(p.cmdline())]
            time.sleep(0.2)
        assert family, "the redis pod never started"
        watched = [psutil.Process(kube_pid), *family]
        os.killpg(starter.pid, signal.SIGKILL)
        starter.wait(timeout=10)
        _gone, alive = psutil.wait_procs(watched, timeout=20)
        assert not alive, f"still running after their starter died: {[p.pid for p in alive]}"
    finally:
        if starter.poll() is None:
            os.killpg(starter.pid, signal.SIGKILL)
            starter.wait()
