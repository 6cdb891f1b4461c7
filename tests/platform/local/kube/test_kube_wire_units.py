"""Units behind the client conformance: SPDY framing, stock image lookup, volume path rewriting, Status order."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from drillbook.errors import ClusterError
from drillbook.platform.local.kube.kubelet.images import ImageMap, ImageSpec
from drillbook.platform.local.kube.kubelet.stock import stock_images
from drillbook.platform.local.kube.kubelet.volumes import materialize, mounts, rewrite_argv
from drillbook.platform.local.kube.routes import encode_json
from drillbook.platform.local.kube.spdy import DICTIONARY, FLAG_FIN, SYN_REPLY, SYN_STREAM, Codec
from drillbook.platform.local.kube.status import not_found


def test_the_spdy3_dictionary_is_the_one_zlib_streams_name() -> None:
    assert len(DICTIONARY) == 1423
    assert zlib.adler32(DICTIONARY) == 3821447106


def _syn_stream(deflate: zlib._Compress, stream_id: int, headers: dict[str, str], *, fin: bool = False) -> bytes:
    block = struct.pack(">I", len(headers)) + b"".join(
        struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode() for k, v in headers.items()
    )
    compressed = deflate.compress(block) + deflate.flush(zlib.Z_SYNC_FLUSH)
    payload = struct.pack(">IIBB", stream_id, 0, 0, 0) + compressed
    return struct.pack(">HHI", 0x8003, SYN_STREAM, ((FLAG_FIN if fin else 0) << 24) | len(payload)) + payload


def test_codec_reads_frames_split_anywhere_and_keeps_one_header_context() -> None:
    deflate = zlib.compressobj(zdict=DICTIONARY)
    wire = (
        _syn_stream(deflate, 1, {"streamtype": "error", "port": "80", "requestid": "0"})
        + _syn_stream(deflate, 3, {"streamtype": "data", "port": "80", "requestid": "0"})
        + Codec.data(3, b"GET / HTTP/1.1\r\n")
        + Codec.data(3, b"", fin=True)
    )
    codec = Codec()
    frames = [f for i in range(0, len(wire), 7) for f in codec.feed(wire[i : i + 7])]  # 7-byte WebSocket messages
    assert [(f.type, f.stream_id, f.fin) for f in frames] == [(1, 1, False), (1, 3, False), (0, 3, False), (0, 3, True)]
    assert frames[1].headers == {"streamtype": "data", "port": "80", "requestid": "0"}
    assert frames[2].data == b"GET / HTTP/1.1\r\n"


def test_syn_reply_is_a_control_frame_a_go_reader_can_inflate() -> None:
    frame = Codec().syn_reply(5)
    first, flags_length = struct.unpack(">II", frame[:8])
    assert (first >> 16, first & 0xFFFF, flags_length & 0xFFFFFF) == (0x8003, SYN_REPLY, len(frame) - 8)
    assert struct.unpack(">I", frame[8:12])[0] == 5
    inflate = zlib.decompressobj(zdict=DICTIONARY)
    assert inflate.decompress(frame[12:]) == b"\x00\x00\x00\x00"  # no headers


def test_stock_images_match_any_tag_and_scenario_maps_win() -> None:
    stock = stock_images()
    busybox = stock.resolve("docker.io/library/busybox:1.36")
    assert busybox is not None
    assert busybox.argv(None, ["sh", "-c", "echo hi"]) == ["sh", "-c", "echo hi"]
    assert stock.resolve("nginx:1.15.4") is stock.resolve("nginx")
    assert stock.resolve("myorg/nginx:1") is None
    assert stock.resolve("redis:7.2-alpine") is stock.resolve("redis")
    assert stock.resolve("redis:does-not-exist") is None  # the bad-image fault still fails to pull
    scenario = ImageMap({"redis:7": ImageSpec(entrypoint=("python", "-m", "fake"))})
    merged = stock.merged(scenario)
    assert merged.resolve("redis:7") is scenario.resolve("redis:7")
    assert merged.resolve("redis:7.2") is stock.resolve("redis")


class _Store:
    def __init__(self, objects: dict[tuple[str, str], dict[str, object]]) -> None:
        self.objects = objects

    def get(self, resource: str, namespace: str, name: str) -> dict[str, object] | None:
        return self.objects.get((resource, name))


def test_config_volumes_are_written_and_paths_under_mounts_rewritten(tmp_path: Path) -> None:
    store = _Store({("configmaps", "code"): {"data": {"server.py": "print(1)\n"}},
                    ("secrets", "creds"): {"data": {"token": "czNjcmV0"}}})  # fmt: skip
    pod = {"metadata": {"name": "p", "namespace": "default"},
           "spec": {"volumes": [{"name": "code", "configMap": {"name": "code"}},
                                {"name": "creds", "secret": {"secretName": "creds"}},
                                {"name": "scratch", "emptyDir": {}}]}}  # fmt: skip
    dirs = materialize(pod, store, tmp_path / "pod", tmp_path / "state")
    assert (dirs["code"] / "server.py").read_text() == "print(1)\n"
    assert (dirs["creds"] / "token").read_bytes() == b"s3cret"
    container = {"volumeMounts": [{"name": "code", "mountPath": "/opt"}, {"name": "creds", "mountPath": "/opt/creds"},
                                  {"name": "scratch", "mountPath": "/tmp/x"}]}  # fmt: skip
    argv = rewrite_argv(
        ["python", "/opt/server.py", "/opt/creds/token", "/optional", "/tmp/x"], mounts(container, dirs)
    )
    assert argv == ["python", str(dirs["code"] / "server.py"), str(dirs["creds"] / "token"), "/optional",
                    str(dirs["scratch"])]  # fmt: skip


def test_a_missing_configmap_volume_is_a_config_error(tmp_path: Path) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"volumes": [{"name": "v", "configMap": {"name": "absent"}}]}}
    with pytest.raises(ClusterError, match='configmap "absent" not found'):
        materialize(pod, _Store({}), tmp_path, tmp_path)


def test_status_keys_come_in_upstreams_order_compact_with_a_newline() -> None:
    body = encode_json(not_found("deployments", "web", "apps").to_status())
    assert body.endswith("}\n")
    assert ", " not in body
    assert list(json.loads(body)) == [
        "kind",
        "apiVersion",
        "metadata",
        "status",
        "message",
        "reason",
        "details",
        "code",
    ]
    assert list(json.loads(body)["details"]) == ["name", "group", "kind"]
