"""A kubeconfig pinned to one context: what runbook commands get instead of the sandbox's (or the user's) own.

The pinned copy holds the one context, its cluster and its user, and nothing else: a command that names
another context has nowhere to go (and the policy blocks ``--context`` and ``config use-context`` anyway).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from drillbook.errors import UsageError


@dataclass(frozen=True)
class Pinned:
    """The one context a pinned kubeconfig holds."""

    context: str
    server: str
    certificate_authority_data: str = ""

    @property
    def address(self) -> tuple[str, int]:
        """The API server's host and port."""
        parts = urlsplit(self.server)
        default = 443 if parts.scheme == "https" else 80
        return parts.hostname or "", parts.port or default


def read_context(source: Path, context: str | None = None) -> tuple[dict[str, Any], Pinned]:
    """The one-context kubeconfig for ``context`` (default: the current one) of ``source``, and what it points at.

    Raises:
        UsageError: the file cannot be read, or names no such context, cluster or user.
    """
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read the kubeconfig {source}: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"the kubeconfig {source} is not a mapping")
    name = context or str(data.get("current-context") or "")
    if not name:
        raise UsageError(f"the kubeconfig {source} has no current-context; select one with kubectl config use-context")
    ctx = _named(data, "contexts", name, source)
    body = ctx.get("context") or {}
    cluster = _named(data, "clusters", str(body.get("cluster", "")), source)
    user = _named(data, "users", str(body.get("user", "")), source)
    pinned_config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [user],
        "contexts": [ctx],
        "current-context": name,
        "preferences": {},
    }
    cluster_body = cluster.get("cluster") or {}
    pinned = Pinned(
        context=name,
        server=str(cluster_body.get("server", "")),
        certificate_authority_data=str(cluster_body.get("certificate-authority-data", "")),
    )
    return pinned_config, pinned


def pin(source: Path, dest: Path, context: str | None = None, *, owner: tuple[int, int] | None = None) -> Pinned:
    """Write ``dest``: ``source`` cut down to one context (mode 0600, owned by ``owner`` when given)."""
    config, pinned = read_context(source, context)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    tmp.chmod(0o600)
    if owner is not None:
        os.chown(tmp, *owner)
    tmp.replace(dest)
    return pinned


def _named(data: dict[str, Any], section: str, name: str, source: Path) -> dict[str, Any]:
    for entry in data.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    raise UsageError(f"the kubeconfig {source} has no {section[:-1]} named {name!r}")
