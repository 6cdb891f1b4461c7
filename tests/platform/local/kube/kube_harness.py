"""Helpers for localkube tests: start a localkube subprocess with a small image map, run the real kubectl.

Kept out of ``conftest.py`` so tests import it by a unique module name (several conftest modules exist).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from drillbook.platform.local.kube.cluster import LocalKubeProcess

IMAGES = """\
images:
  web:1:
    entrypoint: ["python", "-m", "http.server", "--bind", "$(POD_IP)", "8080"]
  web:2:
    entrypoint: ["python", "-m", "http.server", "--bind", "$(POD_IP)", "8080"]
    env: {WEB_VERSION: "2"}
  crash:1:
    entrypoint: ["sh", "-c", "echo starting up; echo fatal: missing config >&2; exit 1"]
  job:1:
    entrypoint: ["sh", "-c", "echo backup done"]
"""


@dataclass
class Kubectl:
    """Runs the real kubectl against one localkube."""

    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["kubectl", *args], env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc


def start_localkube(state_dir: Path) -> LocalKubeProcess:
    """Start localkube (time factor 0.05) with the test image map."""
    images = state_dir / "images.yaml"
    state_dir.mkdir(parents=True, exist_ok=True)
    images.write_text(IMAGES)
    kube = LocalKubeProcess(state_dir=state_dir, images=[images], time_factor=0.05)
    kube.start()
    return kube
