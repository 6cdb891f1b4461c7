"""localkube refuses what the real API server refuses, with its words: azora's RB-003 patches a Deployment's
pods to restartPolicy OnFailure, which a real cluster rejects."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from drillbook.platform.local.datastores import IMAGES_FILE
from drillbook.platform.local.kube import LocalKubeProcess

pytestmark = pytest.mark.slow


def test_a_deployment_whose_pods_would_not_always_restart_is_invalid(tmp_path: Path) -> None:
    with LocalKubeProcess(state_dir=tmp_path, images=[IMAGES_FILE]) as kube:
        env = {**os.environ, **kube.env()}

        def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True, timeout=60, check=False)

        assert kubectl("create", "deployment", "web", "--image=redis:7").returncode == 0
        patch = '{"spec":{"template":{"spec":{"restartPolicy":"OnFailure"}}}}'
        refused = kubectl("patch", "deployment", "web", "-p", patch)
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            'The Deployment "web" is invalid: spec.template.spec.restartPolicy: '
            'Unsupported value: "OnFailure": supported values: "Always"'
        )
