"""PATCH semantics: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes strategic merge."""

from __future__ import annotations

import copy
from typing import Any

from drillbook.platform.local.kube.status import ApiStatusError, bad_request

JsonObj = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

#: Lists merged by key under strategic merge (field name -> merge key); everything else is replaced.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}
#: Primitive lists whose strategy is merge (union) rather than replace.
MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})


def apply_patch(target: JsonObj, patch: Any, content_type: str) -> JsonObj:
    """Apply a patch body of the given content type; returns a new object."""
    ctype = content_type.split(";", maxsplit=1)[0].strip()
    if ctype == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise bad_request("merge patch body must be a JSON object")
        result = merge_patch(target, patch)
        return result if isinstance(result, dict) else {}
    if ctype == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json patch body must be a JSON array of operations")
        return json_patch(target, patch)
    if ctype in (STRATEGIC_PATCH, APPLY_PATCH):
        if not isinstance(patch, dict):
            raise bad_request("strategic merge patch body must be a JSON object")
        return strategic_merge(target, patch)
    raise ApiStatusError(
        415,
        f"the body of the request was in an unknown format - accepted media types include: "
        f"{JSON_PATCH}, {MERGE_PATCH}, {STRATEGIC_PATCH}",
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- JSON patch -----------------------------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f'json patch path "{path}" must start with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for part in parts[:-1]:
        if isinstance(cur, list):
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise ApiStatusError(422, f'doc is missing path: "{path}": missing value', reason="Invalid")
    return cur


def _get(doc: Any, path: str) -> Any:
    cur = doc
    for part in _pointer(path):
        try:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiStatusError(422, f'doc is missing path: "{path}"', reason="Invalid") from exc
    return cur


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent = _parent(doc, parts, path)
    try:
        if isinstance(parent, list):
            return parent.pop(int(parts[-1]))
        return parent.pop(parts[-1])
    except (KeyError, IndexError, ValueError) as exc:
        raise ApiStatusError(422, f'unable to remove nonexistent key: "{path}"', reason="Invalid") from exc


def _add(doc: Any, path: str, value: Any, *, replace: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(copy.deepcopy(value))
        elif replace:
            parent[int(last)] = copy.deepcopy(value)
        else:
            parent.insert(int(last), copy.deepcopy(value))
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise ApiStatusError(
                422, f'replace operation does not apply: doc is missing key: "{path}"', reason="Invalid"
            )
        parent[last] = copy.deepcopy(value)
    else:
        raise ApiStatusError(422, f'doc is missing path: "{path}"', reason="Invalid")
    return doc


def json_patch(target: JsonObj, ops: list[Any]) -> JsonObj:
    """RFC 6902 operations: add, remove, replace, move, copy, test."""
    doc: Any = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"json patch operation must have 'op' and 'path', got {op!r}")
        kind, path = op["op"], op["path"]
        if kind == "add":
            doc = _add(doc, path, op.get("value"), replace=False)
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            doc = _add(doc, path, op.get("value"), replace=True)
        elif kind == "move":
            doc = _add(doc, path, _remove(doc, op["from"]), replace=False)
        elif kind == "copy":
            doc = _add(doc, path, _get(doc, op["from"]), replace=False)
        elif kind == "test":
            if _get(doc, path) != op.get("value"):
                raise ApiStatusError(422, f"testing value {path} failed", reason="Invalid")
        else:
            raise bad_request(f'Unexpected kind: "{kind}"')
    if not isinstance(doc, dict):
        raise bad_request("json patch must leave an object")
    return doc


# -- strategic merge ------------------------------------------------------------------------------------------------
def _list_key(field: str, items: list[Any]) -> str | None:
    if field in MERGE_KEYS:
        return MERGE_KEYS[field]
    if field == "ports":
        sample = next((i for i in items if isinstance(i, dict) and "$patch" not in i), None)
        if sample is not None and "containerPort" in sample:
            return "containerPort"
        if sample is not None and "port" in sample:
            return "port"
    return None


def strategic_merge(target: JsonObj, patch: JsonObj) -> JsonObj:
    """Kubernetes strategic merge patch with keyed lists and ``$patch``/``$setElementOrder``/``$retainKeys``."""
    result = _merge_map(copy.deepcopy(target), patch)
    return result if isinstance(result, dict) else {}


def _merge_map(original: Any, patch: JsonObj) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result: JsonObj = original if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    orders: dict[str, list[Any]] = {}
    deletions: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            deletions[key.split("/", 1)[1]] = value
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    for key, removed in deletions.items():
        if isinstance(result.get(key), list):
            result[key] = [v for v in result[key] if v not in removed]
    for key, order in orders.items():
        if isinstance(result.get(key), list):
            result[key] = _reorder(key, result[key], order)
    if isinstance(retain, list):
        for key in list(result):
            if key not in retain:
                del result[key]
    return result


def _merge_list(field: str, original: Any, patch: list[Any]) -> list[Any]:
    base: list[Any] = original if isinstance(original, list) else []
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in MERGED_PRIMITIVE_LISTS:
        return base + [copy.deepcopy(v) for v in patch if v not in base]
    key = _list_key(field, patch) or _list_key(field, base)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return [copy.deepcopy(i) for i in patch]
    result = list(base)
    for item in patch:
        ident = item.get(key)
        index = next((n for n, cur in enumerate(result) if isinstance(cur, dict) and cur.get(key) == ident), None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            cleaned = _merge_map({}, item)
            result.append(cleaned)
        else:
            result[index] = _merge_map(result[index], item)
    return result


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = _list_key(field, [o for o in order if isinstance(o, dict)]) or _list_key(field, items)
    if key is None:
        ranked = {json_key(v): n for n, v in enumerate(order)}
        return sorted(items, key=lambda v: ranked.get(json_key(v), len(ranked)))
    by_key: dict[str, int] = {json_key(o.get(key)): n for n, o in enumerate(order) if isinstance(o, dict)}
    return sorted(
        items, key=lambda v: by_key.get(json_key(v.get(key)), len(by_key)) if isinstance(v, dict) else len(by_key)
    )


def json_key(value: Any) -> str:
    """A hashable rendering of a primitive list element."""
    return repr(value)
