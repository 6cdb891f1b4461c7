"""Discovery documents: /version, /api, /apis, resource lists and the OpenAPI v3 stub kubectl needs."""

from __future__ import annotations

import hashlib
from typing import Any

from drillbook.platform.local.kube.resources import RESOURCES, group_versions

JsonObj = dict[str, Any]

KUBE_MINOR = "32"
VERSION: JsonObj = {
    "major": "1",
    "minor": KUBE_MINOR,
    "gitVersion": f"v1.{KUBE_MINOR}.0-localkube",
    "gitCommit": "localkube",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}
METRICS_GROUP = "metrics.k8s.io"


def api_versions() -> JsonObj:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    }


def api_groups() -> JsonObj:
    """``GET /apis``: every non-core group plus metrics.k8s.io (kubectl top needs it listed)."""
    groups = []
    for group, versions in group_versions().items():
        if not group:
            continue
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
    metrics = {"groupVersion": f"{METRICS_GROUP}/v1beta1", "version": "v1beta1"}
    groups.append({"name": METRICS_GROUP, "versions": [metrics], "preferredVersion": metrics})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


_PROXY_VERBS = ["create", "delete", "get", "patch", "update"]
"""The proxy subresources' verbs, as upstream lists them (every method is forwarded)."""


def resource_list(group: str, version: str) -> JsonObj | None:
    """``GET /api/v1`` or ``/apis/<group>/<version>``; None when not served."""
    gv = f"{group}/{version}" if group else version
    if group == METRICS_GROUP and version == "v1beta1":
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": gv,
            "resources": [
                {
                    "name": "nodes",
                    "singularName": "",
                    "namespaced": False,
                    "kind": "NodeMetrics",
                    "verbs": ["get", "list"],
                },
                {
                    "name": "pods",
                    "singularName": "",
                    "namespaced": True,
                    "kind": "PodMetrics",
                    "verbs": ["get", "list"],
                },
            ],
        }
    entries: list[JsonObj] = []
    for res in RESOURCES:
        if res.group != group or res.version != version:
            continue
        entry: JsonObj = {
            "name": res.name,
            "singularName": res.singular_name,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": list(res.verbs),
            "storageVersionHash": hashlib.sha256(res.name.encode()).hexdigest()[:11],
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        entries.append(entry)
        for sub in res.subresources:
            kind = {
                "scale": "Scale",
                "exec": "PodExecOptions",
                "attach": "PodAttachOptions",
                "portforward": "PodPortForwardOptions",
                "log": "Pod",
                "proxy": f"{res.kind}ProxyOptions",
            }.get(sub, res.kind)
            verbs = {"exec": ["create", "get"], "attach": ["create", "get"], "portforward": ["create", "get"],
                     "log": ["get"], "proxy": _PROXY_VERBS}.get(sub, ["get", "patch", "update"])  # fmt: skip
            sub_entry: JsonObj = {
                "name": f"{res.name}/{sub}",
                "singularName": "",
                "namespaced": res.namespaced,
                "kind": kind,
                "verbs": verbs,
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1")
            entries.append(sub_entry)
    if not entries:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


def _openapi_key(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def openapi_root() -> JsonObj:
    """``GET /openapi/v3``: one path per group-version."""
    paths = {}
    for group, versions in group_versions().items():
        for version in versions:
            key = _openapi_key(group, version)
            digest = hashlib.sha256(key.encode()).hexdigest()[:16].upper()
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def openapi_document(path: str) -> JsonObj | None:
    """One group-version's OpenAPI v3 document: a ``patch`` operation per kind with its GVK and
    a ``fieldValidation`` parameter, which is all ``kubectl apply`` looks for."""
    for group, versions in group_versions().items():
        for version in versions:
            if _openapi_key(group, version) != path:
                continue
            paths: JsonObj = {}
            for res in RESOURCES:
                if res.group != group or res.version != version:
                    continue
                prefix = f"/{path}/namespaces/{{namespace}}" if res.namespaced else f"/{path}"
                paths[f"{prefix}/{res.name}/{{name}}"] = {
                    "patch": {
                        "operationId": f"patch{res.kind}",
                        "x-kubernetes-action": "patch",
                        "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": res.kind},
                        "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                        "responses": {"200": {"description": "OK"}},
                    }
                }
            return {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": f"v1.{KUBE_MINOR}.0"},
                "paths": paths,
                "components": {"schemas": {}},
            }
    return None
