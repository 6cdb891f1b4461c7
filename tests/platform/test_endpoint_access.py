"""Access on real clusters goes to the Service's ready endpoints: the Endpoints' ready addresses only, on the
Service port's own target port."""

from __future__ import annotations

import pytest

from drillbook.errors import ClusterError
from drillbook.platform.endpoint_access import Target, ready_targets

SERVICE = {
    "metadata": {"namespace": "default", "name": "api"},
    "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 3000}, {"name": "metrics", "port": 9090}]},
}


def _endpoints(*subsets: dict[str, object]) -> dict[str, object]:
    return {"subsets": list(subsets)}


def _pod(name: str) -> dict[str, object]:
    return {"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": name}}


def test_only_ready_addresses_are_targets_on_the_service_ports_target_port() -> None:
    endpoints = _endpoints(
        {
            "addresses": [_pod("api-1")],
            "notReadyAddresses": [_pod("api-2")],
            "ports": [{"name": "http", "port": 3000}, {"name": "metrics", "port": 9090}],
        }
    )
    assert ready_targets(SERVICE, endpoints, 80) == [Target("api-1", 3000)]
    assert ready_targets(SERVICE, endpoints, 9090) == [Target("api-1", 9090)]


def test_a_service_with_no_ready_pod_has_no_target() -> None:
    assert (
        ready_targets(
            SERVICE, _endpoints({"notReadyAddresses": [_pod("api-2")], "ports": [{"name": "http", "port": 3000}]}), 80
        )
        == []
    )
    assert ready_targets(SERVICE, {}, 80) == []


def test_an_address_that_is_not_a_pod_is_not_a_target() -> None:
    endpoints = _endpoints({"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 5432}]})
    assert ready_targets({"spec": {"ports": [{"port": 5432}]}}, endpoints, 5432) == []


def test_a_port_the_service_does_not_have_is_an_error_naming_the_ports_it_has() -> None:
    with pytest.raises(ClusterError, match=r"service default/api has no port 8080; it has \[80, 9090\]"):
        ready_targets(SERVICE, _endpoints(), 8080)
