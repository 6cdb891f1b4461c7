"""A schema-less reader for the protobuf bodies ``kubectl create secret|configmap|namespace`` sends.

The body is ``k8s\\x00`` followed by a ``runtime.Unknown`` message (typeMeta, raw); ``raw`` is the object
itself. Only the fields those simple kinds carry are mapped; anything else is reported as unsupported.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from drillbook.platform.local.kube.status import ApiStatusError

JsonObj = dict[str, Any]
MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield (field number, wire type, value) for each field; length-delimited values are bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 1:
            yield number, wire, buf[pos : pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield number, wire, buf[pos : pos + length]
            pos += length
        elif wire == 5:
            yield number, wire, buf[pos : pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _text(value: Any) -> str:
    return bytes(value).decode("utf-8")


def _map_entry(buf: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _wire, field_value in fields(buf):
        if number == 1:
            key = _text(field_value)
        elif number == 2:
            value = bytes(field_value)
    return key, value


def _object_meta(buf: bytes) -> JsonObj:
    meta: JsonObj = {}
    names = {1: "name", 2: "generateName", 3: "namespace"}
    for number, _wire, value in fields(buf):
        if number in names:
            meta[names[number]] = _text(value)
        elif number in (11, 12):
            key, val = _map_entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = val.decode()
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    return meta


def _secret(raw: bytes) -> JsonObj:
    obj: JsonObj = {}
    for number, _wire, value in fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(value)
        elif number == 2:
            key, val = _map_entry(value)
            obj.setdefault("data", {})[key] = base64.b64encode(val).decode()
        elif number == 3:
            obj["type"] = _text(value)
        elif number == 4:
            key, val = _map_entry(value)
            obj.setdefault("stringData", {})[key] = val.decode()
        elif number == 5:
            obj["immutable"] = bool(value)
    return obj


def _configmap(raw: bytes) -> JsonObj:
    obj: JsonObj = {}
    for number, _wire, value in fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(value)
        elif number == 2:
            key, val = _map_entry(value)
            obj.setdefault("data", {})[key] = val.decode()
        elif number == 3:
            key, val = _map_entry(value)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(val).decode()
        elif number == 4:
            obj["immutable"] = bool(value)
    return obj


def _metadata_only(raw: bytes) -> JsonObj:
    obj: JsonObj = {}
    for number, _wire, value in fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(value)
    return obj


# Field tables for the typed kinds ``kubectl create deployment`` sends: number -> (json name, form, sub-table).
Schema = dict[int, tuple[str, str, Any]]
_SELECTOR: Schema = {1: ("matchLabels", "map", None)}
_PORT: Schema = {
    1: ("name", "str", None),
    2: ("hostPort", "int", None),
    3: ("containerPort", "int", None),
    4: ("protocol", "str", None),
}
_ENV: Schema = {1: ("name", "str", None), 2: ("value", "str", None)}
_CONTAINER: Schema = {
    1: ("name", "str", None),
    2: ("image", "str", None),
    3: ("command", "rstr", None),
    4: ("args", "rstr", None),
    5: ("workingDir", "str", None),
    6: ("ports", "rmsg", _PORT),
    7: ("env", "rmsg", _ENV),
    8: ("resources", "msg", {}),
    14: ("imagePullPolicy", "str", None),
}
_POD_SPEC: Schema = {
    2: ("containers", "rmsg", _CONTAINER),
    3: ("restartPolicy", "str", None),
    20: ("initContainers", "rmsg", _CONTAINER),
}
_META: Schema = {
    1: ("name", "str", None),
    2: ("generateName", "str", None),
    3: ("namespace", "str", None),
    11: ("labels", "map", None),
    12: ("annotations", "map", None),
}
_TEMPLATE: Schema = {1: ("metadata", "msg", _META), 2: ("spec", "msg", _POD_SPEC)}
_STRATEGY: Schema = {1: ("type", "str", None)}
_DEPLOY_SPEC: Schema = {
    1: ("replicas", "int", None),
    2: ("selector", "msg", _SELECTOR),
    3: ("template", "msg", _TEMPLATE),
    4: ("strategy", "msg", _STRATEGY),
    5: ("minReadySeconds", "int", None),
    6: ("revisionHistoryLimit", "int", None),
    7: ("paused", "bool", None),
    9: ("progressDeadlineSeconds", "int", None),
}
_DEPLOYMENT: Schema = {1: ("metadata", "msg", _META), 2: ("spec", "msg", _DEPLOY_SPEC)}


def read_message(buf: bytes, schema: Schema) -> JsonObj:
    """Decode a message with a field table; unknown fields are skipped."""
    out: JsonObj = {}
    for number, _wire, value in fields(buf):
        if number not in schema:
            continue
        name, form, sub = schema[number]
        # proto2 writes every optional field; zero values mean "unset" in JSON (defaults fill them in).
        if form == "str":
            if value:
                out[name] = _text(value)
        elif form == "int":
            if value or name == "replicas":
                out[name] = int(value)
        elif form == "bool":
            if value:
                out[name] = True
        elif form == "msg":
            out[name] = read_message(value, sub)
        elif form == "map":
            key, val = _map_entry(value)
            out.setdefault(name, {})[key] = val.decode()
        elif form == "rstr":
            out.setdefault(name, []).append(_text(value))
        elif form == "rmsg":
            out.setdefault(name, []).append(read_message(value, sub))
    return out


# authorization.k8s.io/v1 reviews (``kubectl auth can-i``) and rbac.authorization.k8s.io/v1 (``kubectl create role``).
_RESOURCE_ATTRIBUTES: Schema = {
    1: ("namespace", "str", None),
    2: ("verb", "str", None),
    3: ("group", "str", None),
    4: ("version", "str", None),
    5: ("resource", "str", None),
    6: ("subresource", "str", None),
    7: ("name", "str", None),
}
_NON_RESOURCE_ATTRIBUTES: Schema = {1: ("path", "str", None), 2: ("verb", "str", None)}
_ACCESS_REVIEW: Schema = {
    1: ("metadata", "msg", _META),
    2: (
        "spec",
        "msg",
        {
            1: ("resourceAttributes", "msg", _RESOURCE_ATTRIBUTES),
            2: ("nonResourceAttributes", "msg", _NON_RESOURCE_ATTRIBUTES),
        },
    ),
}
_RULES_REVIEW: Schema = {1: ("metadata", "msg", _META), 2: ("spec", "msg", {1: ("namespace", "str", None)})}
_POLICY_RULE: Schema = {
    1: ("verbs", "rstr", None),
    2: ("apiGroups", "rstr", None),
    3: ("resources", "rstr", None),
    4: ("resourceNames", "rstr", None),
    5: ("nonResourceURLs", "rstr", None),
}
_ROLE: Schema = {1: ("metadata", "msg", _META), 2: ("rules", "rmsg", _POLICY_RULE)}
_SUBJECT: Schema = {1: ("kind", "str", None), 2: ("apiGroup", "str", None), 3: ("name", "str", None),
                    4: ("namespace", "str", None)}  # fmt: skip
_ROLE_REF: Schema = {1: ("apiGroup", "str", None), 2: ("kind", "str", None), 3: ("name", "str", None)}
_BINDING: Schema = {1: ("metadata", "msg", _META), 2: ("subjects", "rmsg", _SUBJECT), 3: ("roleRef", "msg", _ROLE_REF)}


def _deployment(raw: bytes) -> JsonObj:
    return read_message(raw, _DEPLOYMENT)


def _with(schema: Schema) -> Callable[[bytes], JsonObj]:
    def read(raw: bytes) -> JsonObj:
        return read_message(raw, schema)

    return read


_READERS: dict[str, Callable[[bytes], JsonObj]] = {
    "Secret": _secret,
    "ConfigMap": _configmap,
    "Namespace": _metadata_only,
    "ServiceAccount": _metadata_only,
    "Deployment": _deployment,
    "SelfSubjectAccessReview": _with(_ACCESS_REVIEW),
    "SelfSubjectRulesReview": _with(_RULES_REVIEW),
    "Role": _with(_ROLE),
    "ClusterRole": _with(_ROLE),
    "RoleBinding": _with(_BINDING),
    "ClusterRoleBinding": _with(_BINDING),
}


def decode(body: bytes) -> JsonObj:
    """Decode a ``k8s\\x00``-prefixed protobuf body into the JSON object it describes."""
    if not body.startswith(MAGIC):
        raise ApiStatusError(400, "protobuf body does not start with the k8s\\x00 magic prefix")
    api_version = kind = ""
    raw = b""
    try:
        for number, _wire, value in fields(body[len(MAGIC) :]):
            if number == 1:
                for sub, _w, text in fields(value):
                    if sub == 1:
                        api_version = _text(text)
                    elif sub == 2:
                        kind = _text(text)
            elif number == 2:
                raw = bytes(value)
        reader = _READERS.get(kind)
        if reader is None:
            raise ApiStatusError(
                415,
                f"localkube reads protobuf only for {', '.join(sorted(_READERS))}, got kind {kind!r}; "
                "send JSON instead (e.g. kubectl apply -f)",
            )
        obj = reader(raw)
    except ValueError as exc:
        raise ApiStatusError(400, f"unreadable protobuf body: {exc}") from exc
    obj["apiVersion"] = api_version
    obj["kind"] = kind
    obj.setdefault("metadata", {})
    return obj
