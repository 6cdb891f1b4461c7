"""localkube as a process: the kubernetes Python client, the CLI, and no orphans after SIGKILL."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
from kube_harness import start_localkube
from kubernetes import client, config, watch
from kubernetes.stream import stream

from drillbook.cli import main
from drillbook.platform.local.kube.cluster import LocalKubeProcess

pytestmark = pytest.mark.slow


def _pod(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"drill": "py"}},
        "spec": {"containers": [{"name": "c", "image": "web:1"}]},
    }


def test_python_client_creates_lists_watches_patches_reads_logs_execs_and_deletes(tmp_path: Path) -> None:
    kube = start_localkube(tmp_path)
    try:
        api_client = config.new_client_from_config(str(kube.kubeconfig))
        v1 = client.CoreV1Api(api_client)
        apps = client.AppsV1Api(api_client)
        assert v1.create_namespaced_pod("default", _pod("py")).metadata.uid
        assert [p.metadata.name for p in v1.list_namespaced_pod("default", label_selector="drill=py").items] == ["py"]
        phases = []
        w = watch.Watch()
        for event in w.stream(v1.list_namespaced_pod, "default", field_selector="metadata.name=py", timeout_seconds=20):
            phases.append(event["object"].status.phase)
            if event["object"].status.phase == "Running":
                w.stop()
        assert phases[-1] == "Running"  # the first event may already be Running on a fast machine
        v1.patch_namespaced_pod("py", "default", {"metadata": {"labels": {"strategic": "yes"}}})
        v1.patch_namespaced_pod("py", "default", [{"op": "add", "path": "/metadata/labels/json", "value": "yes"}])
        labels = v1.read_namespaced_pod("py", "default").metadata.labels
        assert labels == {"drill": "py", "strategic": "yes", "json": "yes"}
        deadline = time.monotonic() + 10
        while "Serving HTTP" not in v1.read_namespaced_pod_log("py", "default"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        out = stream(
            v1.connect_get_namespaced_pod_exec,
            "py",
            "default",
            command=["sh", "-c", "echo $POD_IP"],
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
        )
        assert out.strip().startswith("127.10.")
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "pyd"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "pyd"}},
                "template": {"metadata": {"labels": {"app": "pyd"}}, "spec": _pod("x")["spec"]},
            },
        }
        apps.create_namespaced_deployment("default", body)
        apps.patch_namespaced_deployment_scale("pyd", "default", {"spec": {"replicas": 2}})
        assert apps.read_namespaced_deployment("pyd", "default").spec.replicas == 2
        v1.delete_namespaced_pod("py", "default")
        deadline = time.monotonic() + 20
        while any(p.metadata.name == "py" for p in v1.list_namespaced_pod("default").items):
            assert time.monotonic() < deadline, "deleted pod never went away"
            time.sleep(0.1)
    finally:
        kube.stop()


def _pod_processes_of_a_running_localkube(tmp_path: Path) -> tuple[LocalKubeProcess, list[psutil.Process]]:
    kube = start_localkube(tmp_path)
    try:
        v1 = client.CoreV1Api(config.new_client_from_config(str(kube.kubeconfig)))
        for n in range(2):
            v1.create_namespaced_pod("default", _pod(f"orphan-{n}"))
        assert kube.process is not None
        server = psutil.Process(kube.process.pid)
        deadline = time.monotonic() + 20
        while len([p for p in server.children(recursive=True) if "http.server" in " ".join(p.cmdline())]) < 2:
            assert time.monotonic() < deadline, "pods never started"
            time.sleep(0.1)
        return kube, server.children(recursive=True)
    except BaseException:
        kube.kill()
        raise


def _assert_all_gone_within(processes: list[psutil.Process], seconds: float, after: str) -> None:
    deadline = time.monotonic() + seconds
    alive = processes
    while alive and time.monotonic() < deadline:
        alive = [p for p in processes if _running(p)]
        time.sleep(0.1)
    leftovers = [" ".join(p.cmdline()) for p in alive if _running(p)]
    for proc in alive:  # reap what the kubelet missed, so a failure does not leak processes
        if _running(proc):
            proc.kill()
    assert not leftovers, f"still running {seconds:.0f} s after {after}: {leftovers}"


def test_sigkill_of_localkube_leaves_no_pod_process_alive(tmp_path: Path) -> None:
    kube, processes = _pod_processes_of_a_running_localkube(tmp_path)
    kube.kill()
    _assert_all_gone_within(processes, 5, "SIGKILL of localkube")


def test_graceful_stop_of_localkube_kills_every_pod_before_it_exits(tmp_path: Path) -> None:
    kube, processes = _pod_processes_of_a_running_localkube(tmp_path)
    kube.stop()
    _assert_all_gone_within(processes, 3, "localkube exited on SIGTERM")


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_cli_help_documents_the_kubeconfig_and_images_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["localkube", "--help"])
    out = capsys.readouterr().out
    assert "--kubeconfig" in out
    assert "--images" in out
    assert "--time-factor" in out
