"""The manifests rewrite that puts the fault proxy in front of a scenario's datastores (pure: no cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drillbook.errors import ScenarioError
from drillbook.platform.fault_proxy import Dependency, dependencies, fronted_manifests, upstream_manifests
from drillbook.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
MANIFESTS = Path("manifests.yaml")
PG = Dependency("postgres", "shop", "db", 5432)
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "db", "namespace": "shop", "labels": {"app": "db"}},
    "spec": {"selector": {"app": "db"}, "ports": [{"name": "pg", "port": 5432, "targetPort": 5432}]},
}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def by_kind_name(docs: list[dict[str, object]]) -> dict[tuple[object, object], dict[str, object]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}  # type: ignore[index]


def test_the_upstream_step_creates_the_namespaces_and_a_direct_service_with_the_original_selector() -> None:
    docs = upstream_manifests([NAMESPACE, SERVICE], [PG], MANIFESTS)
    found = by_kind_name(docs)
    assert set(found) == {("Namespace", "shop"), ("Service", "db-direct")}
    direct = found[("Service", "db-direct")]
    assert direct["spec"] == {"selector": {"app": "db"}, "ports": SERVICE["spec"]["ports"]}  # type: ignore[index]
    assert direct["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "drillbook"  # type: ignore[index]


def test_the_datastore_service_keeps_its_name_and_port_but_routes_to_the_proxy() -> None:
    docs = fronted_manifests([NAMESPACE, SERVICE], [PG], {"postgres": ("127.0.0.1", 41234)}, MANIFESTS)
    found = by_kind_name(docs)
    service = found[("Service", "db")]
    assert "selector" not in service["spec"]  # type: ignore[operator]
    assert service["spec"]["ports"] == SERVICE["spec"]["ports"]  # type: ignore[index]
    endpoints = found[("Endpoints", "db")]
    assert endpoints["subsets"] == [
        {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 41234, "protocol": "TCP", "name": "pg"}]}
    ]
    assert ("Service", "db-direct") in found
    assert SERVICE["spec"]["selector"] == {"app": "db"}, "the scenario's documents are not changed in place"  # type: ignore[index]


def test_a_scenario_naming_a_service_its_manifests_lack_fails_with_the_file() -> None:
    with pytest.raises(ScenarioError, match=r"manifests.yaml: no Service shop/cache"):
        upstream_manifests([SERVICE], [Dependency("redis", "shop", "cache", 6379)], MANIFESTS)


def test_a_scenario_service_already_named_like_the_route_around_the_proxy_is_refused() -> None:
    taken = {**SERVICE, "metadata": {"name": "db-direct", "namespace": "shop"}}
    with pytest.raises(ScenarioError, match="db-direct is drillbook's route around the fault proxy"):
        upstream_manifests([SERVICE, taken], [PG], MANIFESTS)


@pytest.mark.parametrize("system", sorted(p.name for p in SCENARIOS.iterdir() if (p / "scenario.yaml").is_file()))
def test_every_seed_puts_both_datastores_behind_the_proxy(system: str) -> None:
    scenario = load_scenario(SCENARIOS / system)
    deps = dependencies(scenario)
    assert [d.name for d in deps] == ["postgres", "redis"]
    docs = [d for d in yaml.safe_load_all(scenario.manifests.read_text()) if d]
    listen = {d.name: ("127.0.0.1", 40000 + n) for n, d in enumerate(deps)}
    found = by_kind_name(fronted_manifests(docs, deps, listen, scenario.manifests))
    for dep in deps:
        assert ("Endpoints", dep.service) in found
        assert ("Service", dep.direct_service) in found
