"""The protobuf reader decodes what ``kubectl create secret|configmap|namespace|deployment`` sends."""

from __future__ import annotations

import pytest

from drillbook.platform.local.kube.protobuf import MAGIC, decode
from drillbook.platform.local.kube.status import ApiStatusError


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _entry(key: str, value: bytes) -> bytes:
    return _field(1, key.encode()) + _field(2, value)


def _unknown(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version.encode()) + _field(2, kind.encode())
    return MAGIC + _field(1, type_meta) + _field(2, raw) + _field(3, b"") + _field(4, b"")


def test_secret_data_is_base64_encoded_and_metadata_kept() -> None:
    meta = _field(1, b"db") + _field(3, b"prod") + _field(11, _entry("app", b"x"))
    raw = _field(1, meta) + _field(2, _entry("password", b"s3cret")) + _field(3, b"Opaque")
    obj = decode(_unknown("v1", "Secret", raw))
    assert obj["kind"] == "Secret"
    assert obj["metadata"] == {"name": "db", "namespace": "prod", "labels": {"app": "x"}}
    assert obj["data"] == {"password": "czNjcmV0"}
    assert obj["type"] == "Opaque"


def test_configmap_and_namespace_decode() -> None:
    cm = decode(_unknown("v1", "ConfigMap", _field(1, _field(1, b"cfg")) + _field(2, _entry("k", b"v"))))
    assert cm["data"] == {"k": "v"}
    ns = decode(_unknown("v1", "Namespace", _field(1, _field(1, b"team"))))
    assert ns["metadata"]["name"] == "team"


def test_deployment_decodes_selector_template_and_drops_zero_values() -> None:
    container = _field(1, b"web") + _field(2, b"web:1") + _field(6, _field(3, 8080)) + _field(5, b"")
    template = _field(1, _field(11, _entry("app", b"web"))) + _field(2, _field(2, container))
    spec = _field(1, 2) + _field(2, _field(1, _entry("app", b"web"))) + _field(3, template) + _field(4, b"")
    obj = decode(_unknown("apps/v1", "Deployment", _field(1, _field(1, b"web")) + _field(2, spec)))
    assert obj["spec"]["replicas"] == 2
    assert obj["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    assert obj["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "web:1", "ports": [{"containerPort": 8080}]}
    ]


def test_unsupported_kinds_and_bad_bodies_are_refused_with_a_hint() -> None:
    with pytest.raises(ApiStatusError) as exc:
        decode(_unknown("v1", "Service", b""))
    assert exc.value.code == 415
    assert "send JSON" in exc.value.message
    with pytest.raises(ApiStatusError):
        decode(b"not protobuf")
