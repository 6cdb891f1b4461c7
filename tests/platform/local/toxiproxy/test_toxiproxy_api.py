"""The HTTP API, driven by the real toxiproxy-python client and by raw requests for exact codes and bodies."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from toxiproxy.proxy import Proxy

from drillbook.platform.local.datastores import RedisInstance, free_port
from drillbook.platform.local.toxiproxy import ToxiproxyProcess

pytestmark = pytest.mark.live


def api(process: ToxiproxyProcess, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(method, process.url + path, json=body, timeout=5)


def test_version_is_json(toxiproxy_process: ToxiproxyProcess) -> None:
    assert api(toxiproxy_process, "GET", "/version").json() == {"version": "2.9.0"}


def test_created_proxy_listens_on_a_concrete_port(client: Toxiproxy, redis_proxy: Proxy) -> None:
    assert redis_proxy.enabled is True
    assert not redis_proxy.listen.endswith(":0")
    listed = client.proxies()[redis_proxy.name]
    assert (listed.listen, listed.upstream, listed.enabled) == (
        redis_proxy.listen,
        redis_proxy.upstream,
        True,
    )


def test_proxy_json_has_toxiproxy_shape(toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy) -> None:
    redis_proxy.add_toxic(type="latency", attributes={"latency": 5})
    body = api(toxiproxy_process, "GET", f"/proxies/{redis_proxy.name}").json()
    assert body == {
        "name": redis_proxy.name,
        "listen": redis_proxy.listen,
        "upstream": redis_proxy.upstream,
        "enabled": True,
        "toxics": [
            {
                "attributes": {"latency": 5, "jitter": 0},
                "name": "latency_downstream",
                "type": "latency",
                "stream": "downstream",
                "toxicity": 1.0,
            }
        ],
    }


def test_duplicate_proxy_is_a_409(toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy) -> None:
    response = api(toxiproxy_process, "POST", "/proxies", {"name": redis_proxy.name, "upstream": "127.0.0.1:1"})
    assert response.status_code == 409
    assert response.json() == {"error": "proxy already exists", "status": 409}


def test_client_sees_not_found_for_unknown_proxy(toxiproxy_process: ToxiproxyProcess, client: Toxiproxy) -> None:
    response = api(toxiproxy_process, "GET", "/proxies/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "proxy not found", "status": 404}
    ghost = Proxy(name="nope", upstream="127.0.0.1:1", enabled=True, listen="127.0.0.1:1")
    with pytest.raises(NotFound):
        ghost.destroy()


def test_missing_fields_are_400s(toxiproxy_process: ToxiproxyProcess) -> None:
    no_name = api(toxiproxy_process, "POST", "/proxies", {"upstream": "127.0.0.1:1"})
    no_upstream = api(toxiproxy_process, "POST", "/proxies", {"name": "x"})
    assert (no_name.status_code, no_name.json()["error"]) == (400, "missing required field: name")
    assert (no_upstream.status_code, no_upstream.json()["error"]) == (400, "missing required field: upstream")


def test_non_loopback_addresses_are_refused(toxiproxy_process: ToxiproxyProcess) -> None:
    response = api(toxiproxy_process, "POST", "/proxies", {"name": "far", "upstream": "10.1.2.3:5432"})
    assert response.status_code == 400
    assert "loopback" in response.json()["error"]


def test_toxic_errors_match_toxiproxy(toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy) -> None:
    path = f"/proxies/{redis_proxy.name}/toxics"
    bad_type = api(toxiproxy_process, "POST", path, {"type": "gremlins"})
    bad_stream = api(toxiproxy_process, "POST", path, {"type": "latency", "stream": "sideways"})
    bad_attr = api(toxiproxy_process, "POST", path, {"type": "latency", "attributes": {"latency": "slow"}})
    assert bad_type.json() == {"error": "invalid toxic type", "status": 400}
    assert bad_stream.json()["error"] == "stream was invalid, can be either upstream or downstream"
    assert bad_attr.status_code == 400
    assert bad_attr.json()["error"].startswith("bad request body")
    redis_proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    duplicate = api(toxiproxy_process, "POST", path, {"type": "timeout"})
    assert duplicate.json() == {"error": "toxic already exists", "status": 409}
    missing = api(toxiproxy_process, "GET", f"{path}/nothing")
    assert missing.json() == {"error": "toxic not found", "status": 404}
    with pytest.raises(InvalidToxic):
        redis_proxy.add_toxic(type="gremlins")


def test_toxic_update_merges_attributes(toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy) -> None:
    redis_proxy.add_toxic(type="latency", name="lag", attributes={"latency": 100, "jitter": 10})
    path = f"/proxies/{redis_proxy.name}/toxics/lag"
    updated = api(toxiproxy_process, "POST", path, {"attributes": {"latency": 300}, "toxicity": 0.5}).json()
    assert updated["attributes"] == {"latency": 300, "jitter": 10}
    assert updated["toxicity"] == 0.5
    assert redis_proxy.get_toxic("lag").attributes == {"latency": 300, "jitter": 10}


def test_toxic_delete_removes_it(redis_proxy: Proxy) -> None:
    redis_proxy.add_toxic(type="bandwidth", attributes={"rate": 10})
    assert redis_proxy.destroy_toxic("bandwidth_downstream") is True
    assert redis_proxy.toxics() == {}


def test_populate_creates_keeps_and_replaces(client: Toxiproxy, redis_upstream: RedisInstance) -> None:
    upstream = f"127.0.0.1:{redis_upstream.port}"
    listen = f"127.0.0.1:{free_port()}"
    created = client.populate([{"name": "pop-a", "upstream": upstream, "listen": listen}])
    assert [p.name for p in created] == ["pop-a"]
    assert client.populate([{"name": "pop-a", "upstream": upstream, "listen": listen}]) == []
    other = f"127.0.0.1:{free_port()}"
    replaced = client.populate([{"name": "pop-a", "upstream": upstream, "listen": other}])
    assert [p.listen for p in replaced] == [other]
    assert client.get_proxy("pop-a").listen == other


def test_populate_endpoint_returns_201_with_proxies(toxiproxy_process: ToxiproxyProcess, client: Toxiproxy) -> None:
    listen = f"127.0.0.1:{free_port()}"
    response = api(
        toxiproxy_process, "POST", "/populate", [{"name": "pop-b", "upstream": "127.0.0.1:9", "listen": listen}]
    )
    assert response.status_code == 201
    assert [p["name"] for p in response.json()["proxies"]] == ["pop-b"]
    invalid = api(toxiproxy_process, "POST", "/populate", [{"name": "pop-c"}])
    assert invalid.status_code == 400
    assert invalid.json()["error"] == "missing required field: upstream"


def test_update_can_move_the_listener(toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy) -> None:
    old_port = int(redis_proxy.listen.rpartition(":")[2])
    new_listen = f"127.0.0.1:{free_port()}"
    moved = api(toxiproxy_process, "POST", f"/proxies/{redis_proxy.name}", {"listen": new_listen}).json()
    assert moved["listen"] == new_listen
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", old_port), timeout=1).close()


def test_reset_enables_proxies_and_removes_toxics(client: Toxiproxy, redis_proxy: Proxy) -> None:
    redis_proxy.add_toxic(type="latency", attributes={"latency": 1000})
    redis_proxy.disable()
    assert client.reset() is True
    after = client.get_proxy(redis_proxy.name)
    assert after.enabled is True
    assert after.toxics() == {}


def test_create_refuses_duplicates_in_the_client(client: Toxiproxy, redis_proxy: Proxy) -> None:
    with pytest.raises(ProxyExists):
        client.create(upstream=redis_proxy.upstream, name=redis_proxy.name)


def test_browsers_are_refused(toxiproxy_process: ToxiproxyProcess) -> None:
    response = requests.get(toxiproxy_process.url + "/proxies", headers={"User-Agent": "Mozilla/5.0"}, timeout=5)
    assert response.status_code == 403


def test_delete_returns_204_and_frees_the_port(toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy) -> None:
    response = api(toxiproxy_process, "DELETE", f"/proxies/{redis_proxy.name}")
    assert response.status_code == 204
    assert json.loads(api(toxiproxy_process, "GET", "/proxies").text).get(redis_proxy.name) is None


def _redis_ping(proxy: Proxy, timeout_s: float = 5) -> bytes:
    host, port = proxy.listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(100)


def test_noop_toxic_is_created_listed_and_changes_nothing(
    toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy
) -> None:
    redis_proxy.add_toxic(type="noop", stream="upstream", name="placeholder")
    listed = api(toxiproxy_process, "GET", f"/proxies/{redis_proxy.name}/toxics").json()
    assert listed == [{"attributes": {}, "name": "placeholder", "type": "noop", "stream": "upstream", "toxicity": 1.0}]
    assert _redis_ping(redis_proxy) == b"+PONG\r\n"


def _samples(text: str, proxy: str) -> dict[tuple[str, str], int]:
    found = {}
    for line in text.splitlines():
        if line.startswith("#") or f'proxy="{proxy}"' not in line:
            continue
        name_labels, value = line.rsplit(" ", 1)
        direction = name_labels.split('direction="', 1)[1].split('"', 1)[0]
        found[(name_labels.split("{", 1)[0], direction)] = int(value)
    return found


def test_metrics_count_bytes_per_proxy_and_direction(toxiproxy_process: ToxiproxyProcess, redis_proxy: Proxy) -> None:
    assert _redis_ping(redis_proxy) == b"+PONG\r\n"
    response = api(toxiproxy_process, "GET", "/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE toxiproxy_proxy_received_bytes_total counter" in response.text
    labels = f'listener="{redis_proxy.listen}",proxy="{redis_proxy.name}",upstream="{redis_proxy.upstream}"'
    assert f'toxiproxy_proxy_sent_bytes_total{{direction="upstream",{labels}}} 6' in response.text
    assert _samples(response.text, redis_proxy.name) == {
        ("toxiproxy_proxy_received_bytes_total", "upstream"): 6,
        ("toxiproxy_proxy_sent_bytes_total", "upstream"): 6,
        ("toxiproxy_proxy_received_bytes_total", "downstream"): 7,
        ("toxiproxy_proxy_sent_bytes_total", "downstream"): 7,
    }
    # A toxic that drops data: received grows, sent does not.
    redis_proxy.add_toxic(type="timeout", stream="upstream", attributes={"timeout": 0})
    with pytest.raises(TimeoutError):
        _redis_ping(redis_proxy, timeout_s=0.5)
    after = _samples(api(toxiproxy_process, "GET", "/metrics").text, redis_proxy.name)
    assert after[("toxiproxy_proxy_received_bytes_total", "upstream")] == 12
    assert after[("toxiproxy_proxy_sent_bytes_total", "upstream")] == 6
