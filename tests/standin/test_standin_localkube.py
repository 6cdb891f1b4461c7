"""azora's manifests on a real localkube: pods become ready, the Service answers, the runbook's exec psql works,
and the bad release from images.yaml crashloops with the fatal line an operator reads in ``kubectl logs``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "azora"


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A localkube with azora's and the datastores' image maps; the environment for kubectl."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed")
    from drillbook.platform.local.datastores import IMAGES_FILE
    from drillbook.platform.local.kube import LocalKubeProcess

    # Containers run in localkube's working directory; PostgreSQL (as user postgres) must be able to enter it.
    work = Path(tempfile.mkdtemp(prefix="drillbook-standin-kube-"))
    work.chmod(0o755)
    monkeypatch.chdir(work)
    kube = LocalKubeProcess(state_dir=work / "state", images=[IMAGES_FILE, SCENARIO / "images.yaml"], time_factor=0.2)
    kube.start()
    try:
        yield {**os.environ, **kube.env()}
    finally:
        kube.stop()
        shutil.rmtree(work, ignore_errors=True)


def kubectl(env: dict[str, str], *args: str, check: bool = True) -> str:
    result = subprocess.run(["kubectl", *args], check=False, env=env, capture_output=True, text=True, timeout=90)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@pytest.mark.slow
def test_azora_comes_up_serves_through_its_service_and_a_bad_release_crashloops(cluster: dict[str, str]) -> None:
    kubectl(cluster, "apply", "-f", str(SCENARIO / "manifests.yaml"))
    kubectl(cluster, "rollout", "status", "deployment/api-gateway", "-n", "production", "--timeout=90s")
    ip = kubectl(cluster, "get", "svc", "api-gateway", "-n", "production", "-o", "jsonpath={.spec.clusterIP}")
    with urllib.request.urlopen(f"http://{ip}:8080/api/health", timeout=5) as resp:
        health = json.loads(resp.read())
    assert health["status"] == "healthy"
    count = kubectl(
        cluster, "exec", "deployment/api-gateway", "-n", "production", "--", "psql", "-At", "-c", "SELECT 1;"
    )
    assert count.strip() == "1", "RB-007's `kubectl exec … -- psql -c` reaches the database through PG* variables"

    kubectl(
        cluster, "set", "image", "deployment/api-gateway", "api-gateway=azora/api-gateway:1.5.1", "-n", "production"
    )
    deadline = time.monotonic() + 60
    pods: list[str] = []
    while time.monotonic() < deadline:
        out = kubectl(cluster, "get", "pods", "-n", "production", "-l", "app=api-gateway", "--no-headers")
        pods = [line.split()[0] for line in out.splitlines() if "CrashLoopBackOff" in line]
        if pods:
            break
        time.sleep(1)
    assert pods, "the bad release crashloops"
    logs = kubectl(cluster, "logs", pods[0], "-n", "production", "--previous", check=False)
    logs += kubectl(cluster, "logs", pods[0], "-n", "production", check=False)
    assert "Missing required environment variable STRIPE_WEBHOOK_SECRET" in logs
