"""A real cluster's API server as the sandbox's Prometheus reaches it: on loopback, with the kubeconfig's credentials.

Pod IPs of kind, k3s or an existing cluster are not reachable from the host; the API server is (kind and k3s
publish it on 127.0.0.1). So Prometheus scrapes through the API server's proxy subresources
(``/api/v1/namespaces/NS/pods/POD:PORT/proxy/metrics``, ``/api/v1/nodes/NODE/proxy/metrics/cadvisor``),
authenticating as the sandbox's kubeconfig does. :func:`read_api_server` reads that kubeconfig; an API server off
loopback, or credentials Prometheus cannot present (an exec plugin), leave Prometheus out of the sandbox with the
reason (:class:`LeftOut`): a sandbox never scrapes beyond the machine.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from drillbook.errors import SandboxError, UsageError
from drillbook.execute.kubeconfig import read_context
from drillbook.platform.prometheus.config import ScrapeAuth, require_loopback

_NOT_SCRAPED = "so Prometheus is not part of this sandbox and the runbook's PromQL steps and alerts stay unbound"


@dataclass(frozen=True)
class LeftOut:
    """Prometheus is not part of this sandbox; ``reason`` says why in a sentence (journaled with the action)."""

    reason: str


@dataclass(frozen=True)
class Credential:
    """One credential of the kubeconfig: inline bytes (``*-data``, ``token``) or a file it names."""

    data: bytes | None = None
    path: Path | None = None

    def write(self, dest: Path) -> Path:
        """The file Prometheus reads: ``dest`` (mode 0600) holding the inline bytes, or the file named."""
        if self.path is not None:
            return self.path
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.data or b"")
        return dest


@dataclass(frozen=True)
class ApiServer:
    """The API server's loopback ``host:port``, its scheme, and how to authenticate to it."""

    address: str
    scheme: Literal["http", "https"] = "https"
    ca: Credential | None = None
    cert: Credential | None = None
    key: Credential | None = None
    token: Credential | None = None
    insecure_skip_verify: bool = False

    def auth(self, directory: Path) -> ScrapeAuth:
        """The scrape jobs' connection settings; inline credentials are written under ``directory`` (mode 0700)."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

        def written(credential: Credential | None, name: str) -> Path | None:
            return None if credential is None else credential.write(directory / name)

        return ScrapeAuth(
            scheme=self.scheme,
            ca_file=written(self.ca, "ca.crt"),
            cert_file=written(self.cert, "client.crt"),
            key_file=written(self.key, "client.key"),
            token_file=written(self.token, "token"),
            insecure_skip_verify=self.insecure_skip_verify,
        )


def pod_proxy_path(namespace: str, pod: str, port: int, path: str = "/metrics") -> str:
    """The API server path that proxies to ``path`` on a pod's port."""
    return f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}:{port}/proxy{path}"


def node_cadvisor_path(node: str) -> str:
    """The API server path that proxies to a node's kubelet cAdvisor endpoint."""
    return f"/api/v1/nodes/{quote(node)}/proxy/metrics/cadvisor"


def read_api_server(kubeconfig: Path) -> ApiServer | LeftOut:
    """The current context's API server and credentials, or why Prometheus cannot scrape through it.

    Raises:
        UsageError: the kubeconfig cannot be read or names no such context, cluster or user.
    """
    config, pinned = read_context(kubeconfig)
    cluster: dict[str, Any] = config["clusters"][0].get("cluster") or {}
    user: dict[str, Any] = config["users"][0].get("user") or {}
    parts = urlsplit(pinned.server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return LeftOut(f"the kubeconfig's API server {pinned.server!r} is not an http(s) URL, {_NOT_SCRAPED}")
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        require_loopback(address)
    except SandboxError:
        return LeftOut(
            f"the API server {pinned.server} is not on loopback and Prometheus scrapes only loopback addresses "
            f"(pods are reached through the API server's proxy), {_NOT_SCRAPED}"
        )
    unusable = next((key for key in ("exec", "auth-provider", "username") if user.get(key)), None)
    if unusable is not None:
        return LeftOut(
            f"the kubeconfig's user authenticates with {unusable!r}, which Prometheus cannot do, {_NOT_SCRAPED}"
        )
    base = kubeconfig.parent
    try:
        return ApiServer(
            address=address,
            scheme="https" if parts.scheme == "https" else "http",
            ca=_credential(cluster, "certificate-authority", base),
            cert=_credential(user, "client-certificate", base),
            key=_credential(user, "client-key", base),
            token=_token(user, base),
            insecure_skip_verify=bool(cluster.get("insecure-skip-tls-verify")),
        )
    except (binascii.Error, ValueError) as exc:
        raise UsageError(f"the kubeconfig {kubeconfig} holds a credential that is not base64: {exc}") from exc


def _credential(section: dict[str, Any], key: str, base: Path) -> Credential | None:
    if section.get(f"{key}-data"):
        return Credential(data=base64.b64decode(str(section[f"{key}-data"]), validate=True))
    if section.get(key):
        return Credential(path=base / str(section[key]))
    return None


def _token(user: dict[str, Any], base: Path) -> Credential | None:
    if user.get("token"):
        return Credential(data=str(user["token"]).encode())
    if user.get("tokenFile"):
        return Credential(path=base / str(user["tokenFile"]))
    return None
