"""Container environments the way Kubernetes builds them: service links, envFrom, env, ``$(VAR)`` expansion."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from drillbook.platform.local.kube.kubelet.errors import ContainerConfigError
from drillbook.platform.local.kube.kubelet.images import ImageSpec

JsonObj = dict[str, Any]

# Upstream drops envFrom keys that are not C identifiers-ish (it reports them in an event).
_VALID_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class _Lookup(Protocol):
    def get(self, resource: str, namespace: str, name: str) -> JsonObj | None: ...
    def list(self, resource: str, namespace: str) -> list[JsonObj]: ...


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Expand ``$(VAR)`` references with Kubernetes semantics.

    ``$$`` becomes ``$`` (so ``$$(VAR)`` stays literally ``$(VAR)``); unknown references and an unclosed ``$(`` stay
    as written.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char != "$" or i + 1 >= n:
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append(text[i:])
                break
            value = lookup(text[i + 2 : close])
            out.append(value if value is not None else text[i : close + 1])
            i = close + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def service_env(services: list[JsonObj]) -> dict[str, str]:
    """The docker-links style variables Kubernetes injects for every service with a cluster IP."""
    env: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = str(svc["metadata"]["name"]).upper().replace("-", "_")
        first = ports[0]
        env[f"{prefix}_SERVICE_HOST"] = ip
        env[f"{prefix}_SERVICE_PORT"] = str(first["port"])
        env[f"{prefix}_PORT"] = f"{str(first.get('protocol', 'TCP')).lower()}://{ip}:{first['port']}"
        for port in ports:
            proto = str(port.get("protocol", "TCP"))
            if port.get("name"):
                env[f"{prefix}_SERVICE_PORT_{str(port['name']).upper().replace('-', '_')}"] = str(port["port"])
            base = f"{prefix}_PORT_{port['port']}_{proto.upper()}"
            env[base] = f"{proto.lower()}://{ip}:{port['port']}"
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(port["port"])
            env[f"{base}_ADDR"] = ip
    return env


@dataclass(frozen=True)
class EnvContext:
    """Everything outside the container spec that its environment depends on."""

    pod: JsonObj
    pod_ip: str
    lookup: _Lookup
    api_server: tuple[str, int] | None = None


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return value


def _source_data(ctx: EnvContext, kind: str, name: str) -> dict[str, str] | None:
    """Data of a secret ("secrets") or configmap ("configmaps"), decoded; ``None`` when it does not exist."""
    obj = ctx.lookup.get(kind, ctx.pod["metadata"].get("namespace", "default"), name)
    if obj is None:
        return None
    data: dict[str, str] = {}
    if kind == "secrets":
        data.update({k: _decode(str(v)) for k, v in (obj.get("data") or {}).items()})
        data.update({k: str(v) for k, v in (obj.get("stringData") or {}).items()})
    else:
        data.update({k: str(v) for k, v in (obj.get("data") or {}).items()})
        data.update({k: _decode(str(v)) for k, v in (obj.get("binaryData") or {}).items()})
    return data


_KIND_WORD = {"secrets": ("secret", "Secret"), "configmaps": ("configmap", "ConfigMap")}


def _key_ref(ctx: EnvContext, kind: str, ref: JsonObj) -> str | None:
    name, key = str(ref.get("name", "")), str(ref.get("key", ""))
    lower, title = _KIND_WORD[kind]
    data = _source_data(ctx, kind, name)
    if data is None:
        if ref.get("optional"):
            return None
        raise ContainerConfigError(f'{lower} "{name}" not found')
    if key not in data:
        if ref.get("optional"):
            return None
        namespace = ctx.pod["metadata"].get("namespace", "default")
        raise ContainerConfigError(f"couldn't find key {key} in {title} {namespace}/{name}")
    return data[key]


def _field_ref(ctx: EnvContext, path: str) -> str:
    meta = ctx.pod.get("metadata") or {}
    spec = ctx.pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", "default"),
        "metadata.uid": meta.get("uid", ""),
        "status.podIP": ctx.pod_ip,
        "status.podIPs": ctx.pod_ip,
        "status.hostIP": "127.0.0.1",
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
    }
    if path in simple:
        return str(simple[path])
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise ContainerConfigError(f"unsupported fieldRef fieldPath {path!r}; supported: {sorted(simple)}")


def _value_from(ctx: EnvContext, source: JsonObj) -> str | None:
    if "secretKeyRef" in source:
        return _key_ref(ctx, "secrets", source["secretKeyRef"])
    if "configMapKeyRef" in source:
        return _key_ref(ctx, "configmaps", source["configMapKeyRef"])
    if "fieldRef" in source:
        return _field_ref(ctx, str(source["fieldRef"].get("fieldPath", "")))
    if "resourceFieldRef" in source:
        resource = str(source["resourceFieldRef"].get("resource", ""))
        return "0" if not resource else resource_value(ctx, resource)
    return None


def resource_value(ctx: EnvContext, resource: str) -> str:
    """A ``resourceFieldRef`` value (``limits.memory`` …) as the raw quantity string, empty when unset."""
    section, _, name = resource.partition(".")
    for container in ctx.pod.get("spec", {}).get("containers", []):
        value = ((container.get("resources") or {}).get(section) or {}).get(name)
        if value is not None:
            return str(value)
    return "0"


def _env_from(ctx: EnvContext, sources: list[JsonObj]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in sources:
        prefix = str(source.get("prefix", ""))
        for key, kind in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            if key not in source:
                continue
            ref = source[key]
            data = _source_data(ctx, kind, str(ref.get("name", "")))
            if data is None:
                if ref.get("optional"):
                    continue
                raise ContainerConfigError(f'{_KIND_WORD[kind][0]} "{ref.get("name", "")}" not found')
            env.update({prefix + k: v for k, v in data.items() if _VALID_ENV_NAME.match(prefix + k)})
    return env


def build_env(ctx: EnvContext, container: JsonObj, image: ImageSpec) -> dict[str, str]:
    """The complete process environment of one container.

    Raises:
        ContainerConfigError: A referenced secret/configmap or key is missing (upstream's message, without "Error: ").
    """
    meta, spec = ctx.pod["metadata"], ctx.pod.get("spec") or {}
    namespace = meta.get("namespace", "default")
    # Kubernetes-visible variables, in upstream's order: service links, then envFrom, then env.
    visible: dict[str, str] = {}
    if spec.get("enableServiceLinks", True):
        visible.update(service_env(ctx.lookup.list("services", namespace)))
    kube = [s for s in ctx.lookup.list("services", "default") if s.get("metadata", {}).get("name") == "kubernetes"]
    visible.update({k: v for k, v in service_env(kube).items() if k.startswith("KUBERNETES_")})
    if "KUBERNETES_SERVICE_HOST" not in visible and ctx.api_server is not None:
        host, port = ctx.api_server
        visible.update({"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": str(port)})
    visible["POD_IP"] = ctx.pod_ip
    visible.update(_env_from(ctx, container.get("envFrom") or []))
    for var in container.get("env") or []:
        name = str(var["name"])
        if "valueFrom" in var:
            value = _value_from(ctx, var["valueFrom"] or {})
            if value is None:
                continue
        else:
            value = expand(str(var.get("value", "")), visible.get)
        visible[name] = value
    process_env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        # Local stand-ins are mostly Python: unbuffered output makes `kubectl logs` show lines as they happen.
        "PYTHONUNBUFFERED": "1",
        "HOSTNAME": str(meta.get("name", "")),
    }
    process_env.update(image.env)
    process_env.update(visible)
    return process_env


def expand_argv(argv: list[str], env: Mapping[str, str]) -> list[str]:
    """Expand ``$(VAR)`` in command and args against the container's final environment."""
    return [expand(arg, env.get) for arg in argv]
