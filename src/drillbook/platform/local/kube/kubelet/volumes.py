"""Pod volumes without a mount namespace: configMap, secret, emptyDir and PVC volumes as directories of the pod.

Each volume is written to ``<pod dir>/volumes/<name>`` (a claim's under ``<state dir>/claims``, so its data outlives
the pod) before a container starts. Processes see the host's filesystem, so a path under a container's
``mountPath`` on the command line (``/opt/server.py`` with ``/opt`` mounted) is rewritten to the volume's
directory, for the container's command and for ``kubectl exec``. Paths inside shell strings are not rewritten.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from drillbook.platform.local.kube.kubelet.errors import ContainerConfigError

JsonObj = dict[str, Any]


class _Lookup(Protocol):
    def get(self, resource: str, namespace: str, name: str) -> JsonObj | None: ...


@dataclass(frozen=True)
class Mount:
    """One ``volumeMounts`` entry resolved to a local directory (or file, with ``subPath``)."""

    path: str
    local: Path

    def rewrite(self, arg: str) -> str | None:
        """``arg`` with this mount's path replaced by the local one, or None when it is not under the mount."""
        base = self.path.rstrip("/") or "/"
        if arg == base:
            return str(self.local)
        if arg.startswith(base + "/"):
            return str(self.local / arg[len(base) + 1 :])
        return None


def _decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()


def _files(lookup: _Lookup, namespace: str, volume: JsonObj) -> dict[str, bytes] | None:
    """Key → content for a configMap or secret volume (``None`` for other kinds)."""
    if "configMap" in volume:
        source, kind, ref = volume["configMap"] or {}, "configmaps", "name"
    elif "secret" in volume:
        source, kind, ref = volume["secret"] or {}, "secrets", "secretName"
    else:
        return None
    name = str(source.get(ref, ""))
    obj = lookup.get(kind, namespace, name)
    if obj is None:
        if source.get("optional"):
            return {}
        raise ContainerConfigError(f'{kind[:-1]} "{name}" not found (needed by volume "{volume.get("name")}")')
    data: dict[str, bytes] = {}
    if kind == "configmaps":
        data.update({k: str(v).encode() for k, v in (obj.get("data") or {}).items()})
        data.update({k: _decode(str(v)) for k, v in (obj.get("binaryData") or {}).items()})
    else:
        data.update({k: _decode(str(v)) for k, v in (obj.get("data") or {}).items()})
        data.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
    items = source.get("items")
    if items:
        return {str(i["path"]): data[str(i["key"])] for i in items if str(i.get("key")) in data}
    return data


def materialize(pod: JsonObj, lookup: _Lookup, pod_dir: Path, state_dir: Path) -> dict[str, Path]:
    """Write the pod's volumes; returns volume name → local directory (unsupported kinds are left out).

    Raises:
        ContainerConfigError: A configMap or secret a volume needs does not exist (and is not optional).
    """
    namespace = str(pod["metadata"].get("namespace", "default"))
    dirs: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = str(volume.get("name", ""))
        if "persistentVolumeClaim" in volume:
            claim = str((volume["persistentVolumeClaim"] or {}).get("claimName", name))
            target = state_dir / "claims" / f"{namespace}_{claim}"
            target.mkdir(parents=True, exist_ok=True)
            dirs[name] = target
            continue
        target = pod_dir / "volumes" / name
        files = _files(lookup, namespace, volume)
        if files is None and "emptyDir" not in volume:
            continue
        target.mkdir(parents=True, exist_ok=True)
        for key, content in (files or {}).items():
            path = target / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        dirs[name] = target
    return dirs


def mounts(container: JsonObj, volume_dirs: dict[str, Path]) -> list[Mount]:
    """The container's mounts, longest path first (so the most specific one rewrites)."""
    found = []
    for mount in container.get("volumeMounts") or []:
        local = volume_dirs.get(str(mount.get("name", "")))
        if local is None or not mount.get("mountPath"):
            continue
        sub = str(mount.get("subPath") or "")
        found.append(Mount(str(mount["mountPath"]), local / sub if sub else local))
    return sorted(found, key=lambda m: len(m.path), reverse=True)


def rewrite_argv(argv: list[str], container_mounts: list[Mount]) -> list[str]:
    """Replace every argument that names a path under a mount with the local path."""
    out = []
    for arg in argv:
        rewritten = (mount.rewrite(arg) for mount in container_mounts)
        out.append(next((local for local in rewritten if local is not None), arg))
    return out
