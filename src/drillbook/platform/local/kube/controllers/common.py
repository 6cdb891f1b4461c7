"""Helpers the controllers share: ownership, pod readiness, names and template hashing."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from typing import Any

JsonObj = dict[str, Any]

#: Upstream's alphabet for generated name suffixes and hashes (no vowels, no confusable digits).
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
NODE_NAME = "localkube"


def suffix(n: int = 5) -> str:
    """A random name suffix like upstream's (``x7k2q``)."""
    return "".join(random.choice(ALPHABET) for _ in range(n))


def owner_ref(owner: JsonObj) -> JsonObj:
    """A controller ownerReference to ``owner``."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned_by(obj: JsonObj, owner_uid: str) -> bool:
    """Whether ``obj`` has a controller reference to ``owner_uid``."""
    return any(r.get("uid") == owner_uid for r in obj["metadata"].get("ownerReferences") or [])


def pod_ready(pod: JsonObj) -> bool:
    """Ready condition True and not terminating."""
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def pod_active(pod: JsonObj) -> bool:
    """Counts toward a controller's replicas: not terminating, not finished."""
    phase = (pod.get("status") or {}).get("phase")
    return not pod["metadata"].get("deletionTimestamp") and phase not in ("Succeeded", "Failed")


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def normalized_template(template: JsonObj) -> JsonObj:
    """A template for comparison: nulls and empties dropped, ``pod-template-hash`` label ignored."""
    tmpl = copy.deepcopy(template)
    labels = (tmpl.get("metadata") or {}).get("labels") or {}
    labels.pop("pod-template-hash", None)
    result = _prune(tmpl)
    return result if isinstance(result, dict) else {}


def template_hash(template: JsonObj) -> str:
    """A stable hash of a pod template, spelled with upstream's alphabet."""
    digest = hashlib.sha256(json.dumps(normalized_template(template), sort_keys=True).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    out = ""
    for _ in range(10):
        number, rem = divmod(number, len(ALPHABET))
        out += ALPHABET[rem]
    return out


def pod_from_template(template: JsonObj, owner: JsonObj, name: str, extra_labels: dict[str, str]) -> JsonObj:
    """A new Pod object from a template, owned by ``owner``."""
    tmpl = copy.deepcopy(template)
    meta = tmpl.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    labels.update(extra_labels)
    pod_meta: JsonObj = {
        "name": name,
        "namespace": owner["metadata"]["namespace"],
        "labels": labels,
        "ownerReferences": [owner_ref(owner)],
    }
    if meta.get("annotations"):
        pod_meta["annotations"] = dict(meta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": tmpl.get("spec") or {}}


def resolve_int_or_percent(value: Any, total: int, *, round_up: bool) -> int:
    """``maxSurge``/``maxUnavailable``: an int, or a percentage of ``total``."""
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        scaled = int(text[:-1]) * total
        return -(-scaled // 100) if round_up else scaled // 100
    return int(text)
