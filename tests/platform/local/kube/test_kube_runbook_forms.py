"""Every distinct kubectl verb/flag form in the seed runbooks works against localkube.

The forms come from ``grep kubectl scenarios/*/runbook.md``; placeholders are replaced by objects of this
test's own ``production`` namespace.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest
from kube_harness import Kubectl

pytestmark = pytest.mark.slow

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: production}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: production}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, slot: blue}}
    spec:
      containers:
      - {name: api, image: "web:1", ports: [{containerPort: 8080}]}
      - {name: sidecar, image: "web:2", command: ["sh", "-c", "echo sidecar up; exec sleep 600"]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: production}
spec:
  selector: {app: api}
  ports: [{port: 3000, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: mongodb, namespace: production}
spec:
  serviceName: mongodb
  replicas: 1
  selector: {matchLabels: {app: mongodb}}
  template:
    metadata: {labels: {app: mongodb}}
    spec:
      containers: [{name: mongodb, image: "web:1"}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: production}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 2
  maxReplicas: 10
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api-ingress, namespace: production}
spec:
  rules:
  - host: api.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 3000}}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: database-backup, namespace: production}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: backup, image: "job:1"}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: database-backup, namespace: production}
spec:
  template:
    spec:
      containers: [{name: backup, image: "job:1"}]
---
apiVersion: v1
kind: Secret
metadata: {name: azora-secrets, namespace: production}
stringData: {API_KEY: abc}
"""


@pytest.fixture(scope="module")
def production(kubectl: Kubectl) -> Kubectl:
    folder = kubectl.cwd / "k8s"
    folder.mkdir(exist_ok=True)
    (folder / "all.yaml").write_text(MANIFESTS)
    out = kubectl("apply", "-f", "k8s/").stdout
    assert "deployment.apps/api created" in out
    kubectl("rollout", "status", "deployment/api", "-n", "production", "--timeout=60s")
    kubectl("wait", "--for=condition=ready", "pod", "-l", "app=mongodb", "-n", "production", "--timeout=60s")
    return kubectl


def pod_of(k: Kubectl, selector: str) -> str:
    return k("get", "pod", "-n", "production", "-l", selector, "-o", "jsonpath={.items[0].metadata.name}").stdout


def test_get_forms(production: Kubectl) -> None:
    k = production
    for kind in ("deployments", "services", "secrets", "ingress", "cronjobs", "pods"):
        assert k("get", kind, "-n", "production").stdout.startswith("NAME")
    assert "app=api" not in k("get", "pods", "-n", "production", "-l", "slot=blue").stdout
    names = k("get", "pods", "-n", "production", "-l", "app=api", "-o", "name").stdout.split()
    assert len(names) == 2
    assert all(n.startswith("pod/api-") for n in names)
    assert re.search(
        r"api\s+Deployment/api\s+cpu: <unknown>/70%\s+2\s+10", k("get", "hpa", "api", "-n", "production").stdout
    )
    assert re.search(r"api\s+127\.10\.", k("get", "endpoints", "api", "-n", "production").stdout)
    events = k("get", "events", "-n", "production", "--sort-by=.lastTimestamp").stdout
    assert events.startswith("LAST SEEN")
    watch = k("get", "hpa", "api", "-n", "production", "--watch", "--request-timeout=1s", check=False, timeout=20)
    assert "api" in watch.stdout


def test_describe_forms(production: Kubectl) -> None:
    k = production
    assert "Replicas:" in k("describe", "deployment", "api", "-n", "production").stdout
    assert "Ready" in k("describe", "nodes").stdout
    assert "Events:" in k("describe", "pod", pod_of(k, "app=api"), "-n", "production").stdout
    assert "127.20." in k("describe", "service", "api", "-n", "production").stdout
    assert "api.example.com" in k("describe", "ingress", "api-ingress", "-n", "production").stdout
    assert "API_KEY:  3 bytes" in k("describe", "secret", "azora-secrets", "-n", "production").stdout


def test_logs_forms(production: Kubectl) -> None:
    k = production
    pod = pod_of(k, "app=api")
    assert "sidecar up" in k("logs", "-l", "app=api", "-c", "sidecar", "-n", "production").stdout
    assert "Serving HTTP" in k("logs", "deployment/api", "-n", "production", "--all-containers=true").stdout
    assert "Serving HTTP" in k("logs", "-n", "production", "-l", "app=api", "--since=5m", "-c", "api").stdout
    assert "Serving HTTP" in k("logs", "-n", "production", "deployment/api", "--tail=100").stdout
    assert "Serving HTTP" in k("logs", pod, "-c", "api", "-n", "production", "--tail=100").stdout
    no_previous = k("logs", pod, "-c", "api", "-n", "production", "--previous", check=False)
    assert no_previous.returncode != 0
    assert "previous terminated container" in no_previous.stderr
    deadline = time.monotonic() + 30
    while "backup done" not in k("logs", "-l", "job-name=database-backup", "-n", "production", "--tail=-1").stdout:
        assert time.monotonic() < deadline, "job pod never logged"
        time.sleep(0.3)
    try:  # -f follows until the container ends; a bounded run is what the drill executor does too
        followed = subprocess.run(
            ["kubectl", "logs", "-f", "deployment/api", "-c", "api", "-n", "production", "--since=5m"],
            env=k.env,
            check=False,
            capture_output=True,
            text=True,
            timeout=3,
        )
        out = followed.stdout
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    assert "Serving HTTP" in out


def test_exec_and_cp_forms(production: Kubectl) -> None:
    k = production
    assert (
        "POD_IP=127.10." in k("exec", "-it", pod_of(k, "app=api"), "-n", "production", "-c", "api", "--", "env").stdout
    )
    assert "Filesystem" in k("exec", "-n", "production", "deployment/api", "-c", "api", "--", "df", "-h").stdout
    (k.cwd / "restore.txt").write_text("restore me")
    mongo = pod_of(k, "app=mongodb")
    k("cp", "restore.txt", f"production/{mongo}:/tmp/localkube-restore-{mongo}.txt")
    k("cp", f"production/{mongo}:/tmp/localkube-restore-{mongo}.txt", "back.txt")
    assert (k.cwd / "back.txt").read_text() == "restore me"


def test_write_forms(production: Kubectl) -> None:
    k = production
    k("scale", "statefulset", "mongodb", "--replicas=2", "-n", "production")
    k("label", "deployment", "api", "current=false", "-n", "production")
    k(
        "patch",
        "ingress",
        "api-ingress",
        "-n",
        "production",
        "-p",
        '{"metadata":{"annotations":{"nginx.ingress.kubernetes.io/proxy-read-timeout":"3600"}}}',
    )
    k("patch", "service", "api", "-n", "production", "-p", '{"spec":{"selector":{"slot":"blue"}}}')
    k(
        "patch",
        "deployment",
        "api",
        "-n",
        "production",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"api","resources":{"limits":{"memory":"512Mi"}}}]}}}}',
    )
    k("set", "resources", "deployment", "api", "-n", "production", "-c", "api", "--requests=memory=256Mi")
    k("set", "env", "deployment/api", "-n", "production", "-c", "api", "LOG_LEVEL=debug")
    k("rollout", "status", "deployment/api", "-n", "production", "--timeout=60s")
    k("rollout", "history", "deployment/api", "-n", "production")
    k("rollout", "status", "statefulset/mongodb", "-n", "production", "--timeout=60s")
    assert k("get", "sts", "mongodb", "-n", "production", "-o", "jsonpath={.status.readyReplicas}").stdout == "2"
    victim = pod_of(k, "app=api")
    k("delete", "pod", "-n", "production", "-l", "app=api", f"--field-selector=metadata.name={victim}")
    k("create", "secret", "generic", "db-credentials-new", "-n", "production", "--from-literal=password=x")
    k("apply", "-f", "k8s/all.yaml", "--dry-run=client")
    assert k("top", "pods", "-n", "production", "--sort-by=cpu", check=False).returncode in (0, 1)
    k("delete", "deployment", "api", "-n", "production")
    deadline = time.monotonic() + 30
    while k("get", "rs,pods", "-n", "production", "-l", "app=api", "-o", "name").stdout.strip():
        assert time.monotonic() < deadline, "replicasets and pods of a deleted deployment were not collected"
        time.sleep(0.3)
