"""A kubeconfig as kind and k3s write them (inline CA, client certificate and key), for provider unit tests."""

from __future__ import annotations

import base64

import yaml


def kubeconfig_text(server: str, context: str = "kind-drill") -> str:
    """A kubeconfig as kind and k3s write them: inline CA, client certificate and key."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, "certificate-authority-data": b64("ca")}}],
        "users": [{"name": "u", "user": {"client-certificate-data": b64("crt"), "client-key-data": b64("key")}}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}],
        "current-context": context,
    })  # fmt: skip
