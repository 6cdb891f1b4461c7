"""Service cluster IPs: two localkubes allocating at once never share one, and a deleted Service gives its back."""

from __future__ import annotations

from pathlib import Path

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.ips import ServiceIPPool
from drillbook.platform.local.kube.store import Store


def _service(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 5432}]},
    }


def _store() -> Store:
    store = Store()
    store.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    return store


def _cluster_ip(api: Api, name: str) -> str:
    return str(api.create("services", _service(name), namespace="default")["spec"]["clusterIP"])


def test_two_servers_allocating_before_either_listens_get_different_service_ips(tmp_path: Path) -> None:
    # Neither server listens yet, so a bind check alone finds the same first address free for both: the race
    # that let one sandbox's app reach the other sandbox's PostgreSQL.
    first = Api(_store(), service_ips=ServiceIPPool(tmp_path))
    second = Api(_store(), service_ips=ServiceIPPool(tmp_path))
    a, b = _cluster_ip(first, "postgres"), _cluster_ip(second, "postgres")
    assert a.startswith("127.20.")
    assert a != b


def test_a_deleted_service_gives_its_ip_back_and_a_restarted_server_keeps_its_own(tmp_path: Path) -> None:
    store = _store()
    api = Api(store, service_ips=ServiceIPPool(tmp_path))
    ip = _cluster_ip(api, "redis")
    other = ServiceIPPool(tmp_path)
    assert not other.claim(ip), "held while the Service exists"
    api.delete("services", "default", "redis")
    assert other.claim(ip), "released with the Service"
    other.release(ip)

    kept = _cluster_ip(api, "postgres")
    restarted = Api(store, service_ips=ServiceIPPool(tmp_path / "restarted"))
    assert ServiceIPPool(tmp_path / "restarted").claim(kept) is False, "the restarted server holds its store's IP"
    assert _cluster_ip(restarted, "web") != kept
