"""Conformance: the real kubectl against a localkube subprocess running real pod processes."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kube_harness import Kubectl

pytestmark = pytest.mark.slow


def deployment(name: str, image: str = "web:1", replicas: int = 2, ns: str = "default") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}, labels: {{app: {name}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: {name}
        image: {image}
        ports: [{{containerPort: 8080, name: http}}]
        env: [{{name: GREETING, value: hello}}]
        readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: http, name: http}}]
"""


def apply(kubectl: Kubectl, text: str, name: str) -> str:
    path = kubectl.cwd / f"{name}.yaml"
    path.write_text(text)
    return kubectl("apply", "-f", str(path)).stdout


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pods(kubectl: Kubectl, selector: str, *extra: str) -> list[list[str]]:
    out = kubectl("get", "pods", "-l", selector, "--no-headers", *extra).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def web(kubectl: Kubectl) -> str:
    apply(kubectl, deployment("web"), "web")
    kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    return "web"


def test_get_pods_prints_ready_status_restarts_and_wide_columns(kubectl: Kubectl, web: str) -> None:
    out = kubectl("get", "pods", "-l", "app=web").stdout
    assert re.match(r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE", out)
    assert len(re.findall(r"1/1\s+Running\s+0", out)) == 2
    wide = kubectl("get", "pods", "-o", "wide").stdout
    assert re.search(r"IP\s+NODE", wide)
    assert re.search(r"127\.10\.\d+\.\d+\s+localkube", wide)


def test_get_several_kinds_at_once(kubectl: Kubectl, web: str) -> None:
    out = kubectl("get", "deploy,svc,rs,events").stdout
    assert re.search(r"deployment.apps/web\s+2/2\s+2\s+2", out)
    assert re.search(r"service/web\s+ClusterIP\s+127\.20\.", out)
    assert "replicaset.apps/web-" in out
    assert "ScalingReplicaSet" in out


def test_describe_pod_shows_defaults_and_events(kubectl: Kubectl, web: str) -> None:
    name = pods(kubectl, "app=web")[0][0]
    out = kubectl("describe", "pod", name).stdout
    assert "Node:             localkube/127.0.0.1" in out
    assert "8080/TCP" in out
    assert re.search(r"Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default/", out)
    assert re.search(r"Normal\s+Started\s+.*kubelet", out)


def test_service_cluster_ip_reaches_the_pods(kubectl: Kubectl, web: str) -> None:
    import urllib.request

    ip = kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    eventually(
        lambda: bool(kubectl("get", "endpoints", "web", "-o", "jsonpath={.subsets[0].addresses}").stdout), "endpoints"
    )
    with urllib.request.urlopen(f"http://{ip}:80/", timeout=5) as resp:
        assert resp.status == 200


def test_scale_ends_with_the_requested_running_pods(kubectl: Kubectl) -> None:
    apply(kubectl, deployment("scaled", replicas=1), "scaled")
    assert "scaled" in kubectl("scale", "deployment", "scaled", "--replicas=3").stdout
    kubectl("rollout", "status", "deployment/scaled", "--timeout=60s")
    assert [p[2] for p in pods(kubectl, "app=scaled")] == ["Running"] * 3


def test_set_env_rolls_out_pods_carrying_the_variable(kubectl: Kubectl) -> None:
    apply(kubectl, deployment("envy", replicas=1), "envy")
    kubectl("set", "env", "deployment/envy", "DRILL_FLAG=on")
    kubectl("rollout", "status", "deployment/envy", "--timeout=60s")
    eventually(lambda: len(pods(kubectl, "app=envy")) == 1, "old pod gone")
    env = kubectl("exec", "deployment/envy", "--", "env").stdout
    assert "DRILL_FLAG=on" in env
    assert "GREETING=hello" in env
    assert "ENVY_SERVICE_HOST=127.20." in env


def test_bad_image_backs_off_and_rollout_undo_restores_the_old_replicaset(kubectl: Kubectl) -> None:
    apply(kubectl, deployment("imgs", replicas=1), "imgs")
    kubectl("rollout", "status", "deployment/imgs", "--timeout=60s")
    kubectl("set", "image", "deployment/imgs", "imgs=web:typo")
    eventually(
        lambda: any(p[2] in ("ImagePullBackOff", "ErrImagePull") for p in pods(kubectl, "app=imgs")), "ImagePullBackOff"
    )
    history = kubectl("rollout", "history", "deployment/imgs").stdout
    assert re.search(r"REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>", history)
    rs_before = kubectl("get", "rs", "-l", "app=imgs", "-o", "name").stdout.split()
    assert "rolled back" in kubectl("rollout", "undo", "deployment/imgs").stdout
    kubectl("rollout", "status", "deployment/imgs", "--timeout=60s")
    assert kubectl("get", "rs", "-l", "app=imgs", "-o", "name").stdout.split() == rs_before
    assert re.search(r"\n2\s+<none>\n3\s+<none>", kubectl("rollout", "history", "deployment/imgs").stdout)
    image = kubectl("get", "deploy", "imgs", "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout
    assert image == "web:1"


def test_rollout_restart_replaces_every_pod(kubectl: Kubectl) -> None:
    apply(kubectl, deployment("restarty", replicas=1), "restarty")
    kubectl("rollout", "status", "deployment/restarty", "--timeout=60s")
    before = {p[0] for p in pods(kubectl, "app=restarty")}
    kubectl("rollout", "restart", "deployment/restarty")
    kubectl("rollout", "status", "deployment/restarty", "--timeout=60s")
    eventually(lambda: len(pods(kubectl, "app=restarty")) == 1, "old pod gone")
    assert {p[0] for p in pods(kubectl, "app=restarty")}.isdisjoint(before)


def test_crashloop_shows_restarts_backoff_and_previous_logs_then_undo_heals(kubectl: Kubectl) -> None:
    apply(kubectl, deployment("crashy", replicas=1), "crashy")
    kubectl("rollout", "status", "deployment/crashy", "--timeout=60s")
    kubectl("set", "image", "deployment/crashy", "crashy=crash:1")

    seen: list[str] = []

    def crashing() -> bool:
        # Keep the name from the read that saw the backoff: by the next read the
        # backoff may have run out and the pod shows Running or Error again.
        rows = [p for p in pods(kubectl, "app=crashy") if p[2] == "CrashLoopBackOff"]
        if rows and int(rows[0][3]) >= 2:
            seen.append(rows[0][0])
        return bool(seen)

    eventually(crashing, "CrashLoopBackOff with restarts")
    name = seen[0]
    previous = kubectl("logs", name, "--previous").stdout
    assert "starting up" in previous
    assert "fatal: missing config" in previous
    events = kubectl("get", "events", "--field-selector", f"involvedObject.name={name}").stdout
    assert re.search(r"Warning\s+BackOff\s+pod/" + name, events)
    kubectl("rollout", "undo", "deployment/crashy")
    kubectl("rollout", "status", "deployment/crashy", "--timeout=60s")
    eventually(lambda: [p[2] for p in pods(kubectl, "app=crashy")] == ["Running"], "healed")


def test_logs_of_one_pod_by_selector_with_tail(kubectl: Kubectl, web: str) -> None:
    name = pods(kubectl, "app=web")[0][0]
    assert "Serving HTTP on" in kubectl("logs", name).stdout
    out = kubectl("logs", "-l", "app=web", "--tail=5")
    assert "Serving HTTP on" in out.stdout
    assert len(out.stdout.splitlines()) <= 10
    out = kubectl("logs", "deployment/web", "--tail=1")
    assert "Found 2 pods, using pod/" in out.stderr


def test_exec_prints_pod_env_and_propagates_a_failing_exit_code(kubectl: Kubectl, web: str) -> None:
    name = pods(kubectl, "app=web")[0][0]
    assert "GREETING=hello" in kubectl("exec", name, "--", "env").stdout
    failed = kubectl("exec", name, "--", "sh", "-c", "echo oops >&2; exit 3", check=False)
    assert failed.returncode == 3
    assert "command terminated with exit code 3" in failed.stderr
    assert "GREETING=hello" in kubectl("exec", "-it", name, "--", "env").stdout


def test_top_pods_and_nodes(kubectl: Kubectl, web: str) -> None:
    def top_ready() -> bool:
        return "web-" in kubectl("top", "pods", "-l", "app=web", check=False).stdout

    eventually(top_ready, "pod metrics")
    out = kubectl("top", "pods", "--sort-by=memory").stdout
    assert re.match(r"NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)", out)
    assert "localkube" in kubectl("top", "nodes").stdout


def test_wait_for_ready_condition_by_selector(kubectl: Kubectl, web: str) -> None:
    out = kubectl("wait", "--for=condition=ready", "pod", "-l", "app=web", "--timeout=30s").stdout
    assert out.count("condition met") == 2


def test_create_secret_configmap_and_namespace_over_protobuf(kubectl: Kubectl) -> None:
    assert "created" in kubectl("create", "namespace", "drills").stdout
    kubectl("create", "secret", "generic", "db", "-n", "drills", "--from-literal=password=s3cret")
    kubectl("create", "configmap", "cfg", "-n", "drills", "--from-literal=mode=fast")
    assert kubectl("get", "secret", "db", "-n", "drills", "-o", "jsonpath={.data.password}").stdout == "czNjcmV0"
    assert "password:  6 bytes" in kubectl("describe", "secret", "db", "-n", "drills").stdout
    assert kubectl("get", "cm", "cfg", "-n", "drills", "-o", "jsonpath={.data.mode}").stdout == "fast"
    assert "deleted" in kubectl("delete", "secret", "db", "-n", "drills").stdout


def test_apply_reports_created_configured_and_unchanged(kubectl: Kubectl, tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied}\ndata: {a: '1'}\n"
    assert "configmap/applied created" in apply(kubectl, text, "applied")
    assert "configmap/applied unchanged" in apply(kubectl, text, "applied")
    assert "configmap/applied configured" in apply(kubectl, text.replace("'1'", "'2'"), "applied")
    assert kubectl("get", "cm", "applied", "-o", "jsonpath={.data.a}").stdout == "2"


def test_patch_label_and_annotate(kubectl: Kubectl, web: str) -> None:
    kubectl("create", "configmap", "patched", "--from-literal=a=1")
    kubectl("patch", "configmap", "patched", "--type", "json", "-p", '[{"op":"add","path":"/data/b","value":"2"}]')
    kubectl("patch", "configmap", "patched", "--type", "merge", "-p", '{"data":{"a":null}}')
    assert kubectl("get", "cm", "patched", "-o", "jsonpath={.data}").stdout == '{"b":"2"}'
    kubectl("label", "deployment", "web", "current=true")
    kubectl("annotate", "deployment", "web", "drill/owner=k1")
    out = kubectl("get", "deploy", "web", "-o", "jsonpath={.metadata.labels.current} {.metadata.annotations}").stdout
    assert out.startswith("true ")
    assert '"drill/owner":"k1"' in out


def test_deleted_pod_is_replaced_by_its_replicaset(kubectl: Kubectl, web: str) -> None:
    victim = pods(kubectl, "app=web")[0][0]
    assert f'pod "{victim}" deleted' in kubectl("delete", "pod", victim).stdout
    eventually(
        lambda: (
            sorted(p[2] for p in pods(kubectl, "app=web")) == ["Running", "Running"]
            and victim not in {p[0] for p in pods(kubectl, "app=web")}
        ),
        "replacement pod",
    )


def test_get_watch_is_bounded_by_request_timeout(kubectl: Kubectl, web: str) -> None:
    started = time.monotonic()
    out = kubectl("get", "pods", "-l", "app=web", "-w", "--request-timeout=2s", check=False, timeout=20)
    assert "web-" in out.stdout
    assert time.monotonic() - started < 15
