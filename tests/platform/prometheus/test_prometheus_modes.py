"""The two ways the sandbox's Prometheus reaches a cluster, as the config it writes: localkube's pods on their
loopback IPs, or a real cluster's pods and nodes through the API server with the kubeconfig's credentials; and
the kubeconfigs that leave Prometheus out (an API server off loopback, credentials Prometheus cannot present)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from drillbook.platform.prometheus import LeftOut, PodsOnLoopback, ThroughApiServer, through_api_server
from drillbook.platform.prometheus.apiserver import ApiServer, read_api_server
from drillbook.platform.prometheus.config import (
    ScrapeAuth,
    render_config,
    require_loopback,
    scraped_addresses,
    write_file_sd,
)
from drillbook.platform.prometheus.targets import ApiServerRoute, pod_targets

CA, CERT, KEY = b"-----BEGIN CERTIFICATE-----\nca\n", b"-----BEGIN CERTIFICATE-----\nclient\n", b"-----KEY-----\nk\n"


def _kubeconfig(tmp_path: Path, server: str, user: dict[str, Any], cluster: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "kubeconfig"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kind-x", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "kind-x", "user": user}],
        "contexts": [{"name": "kind-x", "context": {"cluster": "kind-x", "user": "kind-x"}}],
        "current-context": "kind-x",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kind_kubeconfig(tmp_path: Path, server: str = "https://127.0.0.1:40123") -> Path:
    """A kubeconfig as ``kind create cluster`` writes it: inline CA, client certificate and key."""
    user = {"client-certificate-data": _b64(CERT), "client-key-data": _b64(KEY)}
    return _kubeconfig(tmp_path, server, user, {"certificate-authority-data": _b64(CA)})


class _Pods:
    """A CoreV1Api that lists two running app pods and one still pending."""

    def list_namespaced_pod(self, namespace: str, label_selector: str) -> Any:
        assert (namespace, label_selector) == ("production", "app=api")
        return SimpleNamespace(items=[_pod("api-1", "10.244.0.5"), _pod("api-2", "10.244.0.6"), _pod("api-3", None)])


def _pod(name: str, ip: str | None) -> Any:
    container = SimpleNamespace(name="api", ports=[SimpleNamespace(container_port=8080)])
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name, deletion_timestamp=None),
        status=SimpleNamespace(pod_ip=ip, phase="Running" if ip else "Pending"),
        spec=SimpleNamespace(containers=[container]),
    )


def _jobs(config: str) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in yaml.safe_load(config)["scrape_configs"]}


def test_localkube_pods_are_scraped_on_their_loopback_ips_over_plain_http(tmp_path: Path) -> None:
    sd = tmp_path / "app-pods.json"
    write_file_sd(sd, pod_targets(_LoopbackPods(), "production", "app=api", "api"))
    config = tmp_path / "prometheus.yml"
    config.write_text(render_config(PodsOnLoopback.jobs(sd, "127.0.0.1:9400")))
    jobs = _jobs(config.read_text())
    assert set(jobs) == {"app", "kubelet"}
    assert all("scheme" not in job and "tls_config" not in job for job in jobs.values())
    assert jobs["kubelet"]["static_configs"] == [{"targets": ["127.0.0.1:9400"]}]
    assert scraped_addresses(config) == ["127.10.0.5:8080", "127.10.0.6:8080", "127.0.0.1:9400"]


class _LoopbackPods(_Pods):
    def list_namespaced_pod(self, namespace: str, label_selector: str) -> Any:
        return SimpleNamespace(items=[_pod("api-1", "127.10.0.5"), _pod("api-2", "127.10.0.6")])


def test_a_clusters_pods_are_scraped_through_the_api_servers_pod_proxy_keeping_their_labels(tmp_path: Path) -> None:
    groups = pod_targets(_Pods(), "production", "app=api", "api", ApiServerRoute("127.0.0.1:40123"))
    assert [g.targets for g in groups] == [("127.0.0.1:40123",), ("127.0.0.1:40123",)], "the pending pod waits"
    assert [dict(g.labels) for g in groups] == [
        {"namespace": "production", "pod": pod, "instance": f"{ip}:8080",
         "__metrics_path__": f"/api/v1/namespaces/production/pods/{pod}:8080/proxy/metrics"}
        for pod, ip in (("api-1", "10.244.0.5"), ("api-2", "10.244.0.6"))
    ]  # fmt: skip


def test_a_clusters_config_authenticates_to_the_api_server_with_the_kubeconfigs_certificates(tmp_path: Path) -> None:
    api = read_api_server(kind_kubeconfig(tmp_path))
    assert isinstance(api, ApiServer)
    assert (api.address, api.scheme) == ("127.0.0.1:40123", "https")
    auth = api.auth(tmp_path / "state" / "apiserver")
    assert auth.ca_file is not None
    assert auth.cert_file is not None
    assert auth.key_file is not None
    assert (auth.ca_file.read_bytes(), auth.cert_file.read_bytes(), auth.key_file.read_bytes()) == (CA, CERT, KEY)
    assert stat.S_IMODE(auth.key_file.stat().st_mode) == 0o600
    sd = tmp_path / "app-pods.json"
    write_file_sd(sd, pod_targets(_Pods(), "production", "app=api", "api", ApiServerRoute(api.address)))
    config = tmp_path / "prometheus.yml"
    jobs_written = ThroughApiServer(api).jobs(sd, auth, ["kind-control-plane", "kind-worker"], "127.0.0.1:9401")
    config.write_text(render_config(jobs_written))
    jobs = _jobs(config.read_text())
    tls = {"ca_file": str(auth.ca_file), "cert_file": str(auth.cert_file), "key_file": str(auth.key_file)}
    for name in ("app", "kubelet"):
        assert jobs[name]["scheme"] == "https"
        assert jobs[name]["tls_config"] == tls
    assert jobs["kubelet"]["static_configs"] == [
        {"targets": ["127.0.0.1:40123"],
         "labels": {"instance": node, "__metrics_path__": f"/api/v1/nodes/{node}/proxy/metrics/cadvisor"}}
        for node in ("kind-control-plane", "kind-worker")
    ]  # fmt: skip
    assert "scheme" not in jobs["kube-state"], "the restart counts' exporter is drillbook's own, on loopback"
    addresses = scraped_addresses(config)
    assert addresses == ["127.0.0.1:40123"] * 4 + ["127.0.0.1:9401"]
    assert [require_loopback(a) for a in addresses] == addresses


def test_a_token_kubeconfig_is_presented_as_a_bearer_credentials_file(tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(
        tmp_path, "https://localhost:6443", {"token": "s3cret"}, {"insecure-skip-tls-verify": True}
    )
    api = read_api_server(kubeconfig)
    assert isinstance(api, ApiServer)
    auth = api.auth(tmp_path / "apiserver")
    assert auth.token_file is not None
    assert auth.token_file.read_text() == "s3cret"
    assert auth.render() == {
        "scheme": "https",
        "tls_config": {"insecure_skip_verify": True},
        "authorization": {"type": "Bearer", "credentials_file": str(auth.token_file)},
    }


def test_credentials_the_kubeconfig_names_as_files_are_read_where_they_are(tmp_path: Path) -> None:
    kubeconfig = _kubeconfig(
        tmp_path, "https://[::1]:6443", {"client-certificate": "pki/client.crt", "client-key": "/etc/k/client.key"}
    )
    api = read_api_server(kubeconfig)
    assert isinstance(api, ApiServer)
    assert api.address == "[::1]:6443"
    auth = api.auth(tmp_path / "apiserver")
    assert (auth.cert_file, auth.key_file, auth.ca_file) == (
        tmp_path / "pki/client.crt",
        Path("/etc/k/client.key"),
        None,
    )


@pytest.mark.parametrize(
    "server", ["https://10.0.0.1:6443", "https://k8s.prod.example.com", "https://192.168.49.2:8443"]
)
def test_an_api_server_off_loopback_leaves_prometheus_out_and_says_why(tmp_path: Path, server: str) -> None:
    left = through_api_server(kind_kubeconfig(tmp_path, server))
    assert isinstance(left, LeftOut)
    assert f"the API server {server} is not on loopback" in left.reason
    assert "Prometheus is not part of this sandbox" in left.reason


def test_a_user_that_authenticates_with_an_exec_plugin_leaves_prometheus_out(tmp_path: Path) -> None:
    exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws"}}
    left = through_api_server(_kubeconfig(tmp_path, "https://127.0.0.1:6443", exec_user))
    assert isinstance(left, LeftOut)
    assert "authenticates with 'exec', which Prometheus cannot do" in left.reason


def test_a_plain_http_job_has_no_tls_section() -> None:
    assert ScrapeAuth().render() == {"scheme": "http"}
