"""What the official Python client's own end-to-end suite expects of an API server, checked with real kubectl and
the real ``kubernetes`` client against a real localkube (our own tests, modelled on what that suite checks)."""

from __future__ import annotations

import json
import re
import select
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from kube_harness import Kubectl
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.stream import portforward, stream

from drillbook.platform.local.kube.cluster import LocalKubeProcess
from drillbook.platform.local.kube.kubelet import stock

pytestmark = pytest.mark.live

JsonObj = dict[str, Any]


@pytest.fixture(scope="module")
def api_client(localkube: LocalKubeProcess) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(localkube.kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture(scope="module")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


def _pod(name: str, image: str, *, args: list[str] | None = None, command: list[str] | None = None) -> JsonObj:
    container: JsonObj = {"name": "main", "image": image}
    if args is not None:
        container["args"] = args
    if command is not None:
        container["command"] = command
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [container]}}  # fmt: skip


def _listening(ip: str, port: int, timeout_s: float = 15) -> None:
    """Wait for a pod's listener: without a readiness probe, Ready comes with the process, the socket a bit later."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((ip, port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {ip}:{port} after {timeout_s}s")


ECHO_SERVER = """
import socket, sys, threading
def serve(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
listener = socket.create_server((sys.argv[1], 7001))
while True:
    threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
"""


@pytest.fixture(scope="module")
def echo(core: client.CoreV1Api, kubectl: Kubectl) -> str:
    """A python-image pod echoing every byte on port 7001 (nothing listens on 7002)."""
    core.create_namespaced_pod(
        "default", _pod("echo", "python:3.12", command=["python", "-c", ECHO_SERVER, "$(POD_IP)"])
    )
    _running(kubectl, "echo")
    _listening(core.read_namespaced_pod("echo", "default").status.pod_ip, 7001)
    return "echo"


def _running(kubectl: Kubectl, *names: str, timeout: int = 60) -> None:
    kubectl(
        "wait", "--for=condition=Ready", *(f"pod/{n}" for n in names), f"--timeout={timeout}s", timeout=timeout + 10
    )


@pytest.fixture(scope="module")
def sleeper(core: client.CoreV1Api, kubectl: Kubectl) -> str:
    """A busybox pod that stays up (the suite's ``while true; do date; sleep 5; done`` pod)."""
    core.create_namespaced_pod(
        "default", _pod("sleeper", "busybox", args=["/bin/sh", "-c", "while true; do sleep 1; done"])
    )
    _running(kubectl, "sleeper")
    return "sleeper"


@pytest.fixture(scope="module")
def nginx(core: client.CoreV1Api, kubectl: Kubectl) -> str:
    """An nginx pod (stock image) behind a Service on port 80."""
    core.create_namespaced_pod("default", _pod("nginx", "nginx:1.27"))
    kubectl("expose", "pod/nginx", "--port=80", "--name=nginx")
    _running(kubectl, "nginx")
    # No readiness probe: Ready comes with the process start, the listener a moment later (as with real nginx).
    _listening(core.read_namespaced_pod("nginx", "default").status.pod_ip, 80)
    return "nginx"


# -- 1. error bodies ------------------------------------------------------------------------------------------------
def test_a_not_found_body_is_byte_for_byte_the_api_servers(localkube: LocalKubeProcess) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{localkube.url}/api/v1/namespaces/default/pods/nope", timeout=5)
    assert caught.value.code == 404
    assert caught.value.read() == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"nope\\" not found",'
        b'"reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404}\n'
    )


def test_a_conflict_reaches_the_client_as_upstreams_compact_json(api_client: client.ApiClient) -> None:
    registration = client.ApiregistrationV1Api(api_client)
    body = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1.demo.example.io"},
            "spec": {"group": "demo.example.io", "version": "v1", "groupPriorityMinimum": 100,
                     "versionPriority": 10, "service": {"name": "api", "namespace": "demo"}}}  # fmt: skip
    registration.create_api_service(body)
    with pytest.raises(ApiException) as caught:
        registration.create_api_service(body)
    assert caught.value.status == 409
    assert caught.value.body == (
        '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"apiservices.apiregistration'
        '.k8s.io \\"v1.demo.example.io\\" already exists","reason":"AlreadyExists","details":{"name":"v1.demo.'
        'example.io","group":"apiregistration.k8s.io","kind":"apiservices"},"code":409}\n'
    )
    assert registration.read_api_service("v1.demo.example.io").spec.group == "demo.example.io"


# -- 2. exec ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "code"), [(["false"], 1), (["/bin/sh", "-c", "sleep 0.2; exit 3"], 3), (["true"], 0)]
)
def test_exec_returncode_comes_from_the_status_channel(
    core: client.CoreV1Api, sleeper: str, command: list[str], code: int
) -> None:
    resp = stream(core.connect_get_namespaced_pod_exec, sleeper, "default", command=command,
                  stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)  # fmt: skip
    assert resp.returncode is None
    resp.run_forever(timeout=10)
    assert resp.returncode == code


def test_exec_stdin_text_reaches_the_command_and_output_comes_on_its_own_channel(
    core: client.CoreV1Api, sleeper: str
) -> None:
    resp = stream(core.connect_post_namespaced_pod_exec, sleeper, "default", command=["/bin/sh"],
                  stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)  # fmt: skip
    assert resp.subprotocol == "v5.channel.k8s.io"
    resp.write_stdin("echo to-out\n")
    assert resp.readline_stdout(timeout=5) == "to-out"
    resp.write_stdin("echo to-err >&2\n")
    assert resp.readline_stderr(timeout=5) == "to-err"
    resp.write_stdin("exit 4\n")
    resp.run_forever(timeout=10)
    assert resp.returncode == 4


def test_exec_preloaded_output_and_kubectls_exit_code(core: client.CoreV1Api, kubectl: Kubectl, sleeper: str) -> None:
    out = stream(core.connect_get_namespaced_pod_exec, sleeper, "default", command=["/bin/sh", "-c", "seq 1 3"],
                 stderr=False, stdin=False, stdout=True, tty=False)  # fmt: skip
    assert out.splitlines() == ["1", "2", "3"]
    failed = kubectl("exec", sleeper, "--", "sh", "-c", "exit 3", check=False)
    assert failed.returncode == 3
    assert "command terminated with exit code 3" in failed.stderr


# -- 3. stock images -------------------------------------------------------------------------------------------------
def test_kubectl_run_rm_it_busybox_prints_and_cleans_up(kubectl: Kubectl) -> None:
    done = kubectl("run", "tmp", "--rm", "-i", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo hi")
    assert done.stdout.splitlines()[0] == "hi"
    assert kubectl("get", "pod", "tmp", check=False).returncode == 1


def test_kubectl_run_rm_returns_the_containers_exit_code(kubectl: Kubectl) -> None:
    done = kubectl("run", "tmp3", "--rm", "-i", "--image=busybox:1.36", "--restart=Never", "--", "sh", "-c", "exit 3",
                   check=False)  # fmt: skip
    assert done.returncode == 3


def test_python_image_runs_its_default_interpreter_and_the_pods_command(kubectl: Kubectl) -> None:
    done = kubectl("run", "py", "--rm", "-i", "--image=python:3.12", "--restart=Never", "--",
                   "python", "-c", "print(6 * 7)")  # fmt: skip
    assert done.stdout.splitlines()[0] == "42"


def test_nginx_image_serves_its_welcome_page_on_port_80(core: client.CoreV1Api, nginx: str) -> None:
    ip = core.read_namespaced_pod(nginx, "default").status.pod_ip
    with urllib.request.urlopen(f"http://{ip}:80/", timeout=5) as resp:
        assert "<h1>Welcome to nginx!</h1>" in resp.read().decode()


def test_redis_image_answers_on_the_pod_ip_with_the_pods_extra_options(
    core: client.CoreV1Api, kubectl: Kubectl
) -> None:
    core.create_namespaced_pod("default", _pod("cache", "redis:7.2", args=["--maxmemory", "10mb"]))
    _running(kubectl, "cache")
    ip = core.read_namespaced_pod("cache", "default").status.pod_ip
    _listening(ip, 6379)
    with socket.create_connection((ip, 6379), timeout=5) as sock:
        sock.sendall(b"CONFIG GET maxmemory\r\n")
        assert b"10485760" in sock.recv(200)


def test_postgres_image_initialises_from_its_env_and_accepts_the_password(kubectl: Kubectl) -> None:
    kubectl("run", "db", "--image=postgres:15", "--env=POSTGRES_PASSWORD=s3cret", "--env=POSTGRES_DB=shop")
    _running(kubectl, "db", timeout=90)
    ip = kubectl("get", "pod", "db", "-o", "jsonpath={.status.podIP}").stdout
    deadline = time.monotonic() + 30
    while True:
        done = subprocess.run(["psql", "-h", ip, "-U", "postgres", "-d", "shop", "-tAc", "select 40 + 2"],
                              env={"PGPASSWORD": "s3cret", "PATH": "/usr/local/bin:/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=10, check=False)  # fmt: skip
        if done.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert done.stdout.strip() == "42", done.stderr


def test_a_stock_postgres_pods_data_outside_its_dir_goes_with_the_pod(
    localkube: LocalKubeProcess, kubectl: Kubectl
) -> None:
    kubectl("run", "scratchdb", "--image=postgres:15", "--env=POSTGRES_PASSWORD=s3cret")
    _running(kubectl, "scratchdb", timeout=90)
    [home] = localkube.state_dir.glob("**/pods/default_scratchdb_*/scratchdb/home")
    scratch = stock.scratch_dir(home)
    deadline = time.monotonic() + 60
    while not (scratch / "data" / "PG_VERSION").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (scratch / "data" / "PG_VERSION").exists(), f"the stock postgres never initialised {scratch}/data"

    kubectl("delete", "pod", "scratchdb", "--wait=true", "--timeout=60s", timeout=70)

    deadline = time.monotonic() + 10
    while scratch.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not scratch.exists(), f"{scratch} outlived its pod"


# -- 4. more kinds ---------------------------------------------------------------------------------------------------
def test_replication_controller_keeps_its_replicas_and_takes_them_along(
    core: client.CoreV1Api, kubectl: Kubectl
) -> None:
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "frontend"},
          "spec": {"replicas": 2, "selector": {"app": "frontend"},
                   "template": {"metadata": {"labels": {"app": "frontend"}},
                                "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}  # fmt: skip
    created = core.create_namespaced_replication_controller("default", rc)
    assert (created.spec.replicas, created.metadata.labels) == (2, {"app": "frontend"})
    kubectl("wait", "--for=jsonpath={.status.readyReplicas}=2", "rc/frontend", "--timeout=60s", timeout=70)
    assert re.search(r"^frontend\s+2\s+2\s+2\s", kubectl("get", "rc").stdout, re.M)
    core.delete_namespaced_replication_controller("frontend", "default", propagation_policy="Background")
    kubectl("wait", "--for=delete", "pod", "-l", "app=frontend", "--timeout=60s", timeout=70)


def test_daemonset_runs_one_pod_on_the_node(api_client: client.ApiClient, kubectl: Kubectl) -> None:
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "agent", "image": "busybox",
                                                         "args": ["sh", "-c", "sleep 3600"]}]}}}}  # fmt: skip
    client.AppsV1Api(api_client).create_namespaced_daemon_set("default", ds)
    kubectl("rollout", "status", "ds/agent", "--timeout=60s", timeout=70)
    pods = kubectl("get", "pods", "-l", "app=agent", "-o", "json")
    items = json.loads(pods.stdout)["items"]
    assert [p["spec"]["nodeName"] for p in items] == ["localkube"]
    assert re.search(r"^agent\s+1\s+1\s+1\s+1\s+1\s+<none>\s", kubectl("get", "ds").stdout, re.M)


def test_rbac_objects_are_stored_listed_described_and_can_i_says_yes(
    api_client: client.ApiClient, kubectl: Kubectl
) -> None:
    kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
    kubectl("create", "rolebinding", "read-pods", "--role=pod-reader", "--user=jane")
    kubectl("create", "clusterrole", "node-reader", "--verb=get", "--resource=nodes")
    kubectl("create", "clusterrolebinding", "read-nodes", "--clusterrole=node-reader", "--group=ops")
    rbac = client.RbacAuthorizationV1Api(api_client)
    role = rbac.read_namespaced_role("pod-reader", "default")
    assert (role.rules[0].resources, role.rules[0].verbs) == (["pods"], ["get", "list"])
    assert rbac.read_cluster_role_binding("read-nodes").role_ref.name == "node-reader"
    listed = kubectl("get", "rolebindings", "-o", "wide").stdout
    assert re.search(r"^read-pods\s+Role/pod-reader\s+\S+\s+jane", listed, re.M)
    described = kubectl("describe", "clusterrole", "node-reader").stdout
    assert re.search(r"nodes\s+\[\]\s+\[\]\s+\[get\]", described)
    assert kubectl("auth", "can-i", "delete", "deployments").stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "--list").returncode == 0


def test_discovery_lists_the_new_kinds_for_kubectl(kubectl: Kubectl) -> None:
    resources = kubectl("api-resources", "--no-headers").stdout
    for row in (r"^replicationcontrollers\s+rc\s+v1\s+true\s+ReplicationController",
                r"^daemonsets\s+ds\s+apps/v1\s+true\s+DaemonSet",
                r"^clusterroles\s+rbac.authorization.k8s.io/v1\s+false\s+ClusterRole",
                r"^apiservices\s+apiregistration.k8s.io/v1\s+false\s+APIService"):  # fmt: skip
        assert re.search(row, resources, re.M), row


# -- 5. port-forward -------------------------------------------------------------------------------------------------
def test_kubectl_port_forward_a_service_on_a_random_loopback_port(kubectl: Kubectl, nginx: str) -> None:
    proc = subprocess.Popen(["kubectl", "port-forward", f"svc/{nginx}", "0:80"], env=kubectl.env, cwd=kubectl.cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 80", first)
        assert match, first
        for _ in range(3):  # each request is a new forwarded connection
            with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/", timeout=5) as resp:
                assert "<h1>Welcome to nginx!</h1>" in resp.read().decode()
    finally:
        proc.terminate()
        proc.wait(10)


def test_kubectl_port_forward_a_pod_to_a_fixed_port_carries_a_large_payload(kubectl: Kubectl, echo: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        local = probe.getsockname()[1]
    proc = subprocess.Popen(["kubectl", "port-forward", f"pod/{echo}", f"{local}:7001"], env=kubectl.env,
                            cwd=kubectl.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(f"Forwarding from 127.0.0.1:{local} -> 7001")
        payload = bytes(range(256)) * 1200  # 300 KiB, more than SPDY's initial window: nothing may stall
        with socket.create_connection(("127.0.0.1", local), timeout=10) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)  # a half-close travels as a FIN; the echo server then closes too
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert received == payload
    finally:
        proc.terminate()
        proc.wait(10)


def test_python_client_port_forward_echoes_and_reports_a_closed_port(core: client.CoreV1Api, echo: str) -> None:
    pf = portforward(core.connect_get_namespaced_pod_portforward, echo, "default", ports="7001,7002")
    sock = pf.socket(7001)
    sock.setblocking(True)
    sock.sendall(b"ping through the tunnel")
    got = b""
    deadline = time.monotonic() + 10
    while got != b"ping through the tunnel" and time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], 1)
        if ready:
            got += sock.recv(100)
    assert got == b"ping through the tunnel"
    closed = pf.socket(7002)
    closed.setblocking(True)
    assert closed.recv(100) == b""
    assert "7002" in (pf.error(7002) or "")
    assert pf.error(7001) is None
    sock.close()
    closed.close()
