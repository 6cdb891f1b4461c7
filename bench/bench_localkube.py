"""How fast localkube answers kubectl and converges a deployment.

Prints: start-to-ready time of a localkube subprocess; p50 wall time of ``kubectl get pods`` against the
``kubectl version --client`` floor (process start of the dispatcher plus kubectl, no server work) and their
ratio; and the time for a fresh 3-replica deployment to become Available (``rollout status``). Bounded: fixed
repetition counts and a timeout on every subprocess (about 20 s in all).

Run: ``.venv/bin/python bench/bench_localkube.py``
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from drillbook.platform.local.kube.cluster import LocalKubeProcess

REPEATS = 15
IMAGES = """\
images:
  web:1:
    entrypoint: ["python", "-m", "http.server", "--bind", "$(POD_IP)", "8080"]
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: bench}
spec:
  replicas: 3
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      containers:
      - name: web
        image: web:1
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
"""


def p50(cmd: list[str], env: dict[str, str]) -> float:
    """Median wall time of ``cmd`` over ``REPEATS`` runs, in seconds."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, timeout=30, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    """Run the three measurements and print them."""
    with tempfile.TemporaryDirectory(prefix="bench-localkube-") as tmp:
        state = Path(tmp)
        (state / "images.yaml").write_text(IMAGES)
        (state / "deploy.yaml").write_text(DEPLOYMENT)
        started = time.perf_counter()
        kube = LocalKubeProcess(state_dir=state, images=[state / "images.yaml"], time_factor=0.1)
        with kube:
            ready_s = time.perf_counter() - started
            env = {**os.environ, **kube.env(), "HOME": tmp}
            subprocess.run(["kubectl", "get", "pods"], env=env, capture_output=True, timeout=30, check=True)
            floor = p50(["kubectl", "version", "--client"], env)
            get_pods = p50(["kubectl", "get", "pods"], env)
            started = time.perf_counter()
            subprocess.run(
                ["kubectl", "apply", "-f", str(state / "deploy.yaml")],
                env=env,
                capture_output=True,
                timeout=30,
                check=True,
            )
            subprocess.run(
                ["kubectl", "rollout", "status", "deployment/bench", "--timeout=60s"],
                env=env,
                capture_output=True,
                timeout=70,
                check=True,
            )
            available_s = time.perf_counter() - started
    print(f"localkube start-to-ready:              {ready_s * 1000:7.0f} ms")
    print(f"kubectl version --client p50 (floor):  {floor * 1000:7.0f} ms")
    print(f"kubectl get pods p50:                  {get_pods * 1000:7.0f} ms")
    print(f"get pods / floor:                      {get_pods / floor:7.2f}x")
    print(f"3-replica deployment Available:        {available_s * 1000:7.0f} ms (apply + rollout status)")


if __name__ == "__main__":
    main()
