"""The thin real-cluster providers: the production guard, kind's command sequence, k3s teardown on failure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from drillbook.errors import UsageError
from drillbook.platform import k3s, kind
from drillbook.platform.existing import check_allowed

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _kubeconfig(tmp_path: Path, context: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(f"apiVersion: v1\nkind: Config\ncurrent-context: {context}\ncontexts: []\n")
    return path


def test_an_existing_cluster_is_refused_unless_its_context_is_allowed(tmp_path: Path) -> None:
    config = _kubeconfig(tmp_path, "prod-eu-1")
    with pytest.raises(
        UsageError, match=r"refusing to inject faults into context 'prod-eu-1'.*DRILLBOOK_ALLOW_CONTEXTS"
    ):
        check_allowed(config, {"DRILLBOOK_ALLOW_CONTEXTS": "staging, sandbox"})


def test_an_allowed_context_passes_the_guard(tmp_path: Path) -> None:
    config = _kubeconfig(tmp_path, "sandbox")
    assert check_allowed(config, {"DRILLBOOK_ALLOW_CONTEXTS": "staging, sandbox"}) == "sandbox"


def test_a_kubeconfig_without_a_current_context_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(UsageError, match="no current-context"):
        check_allowed(config, {"DRILLBOOK_ALLOW_CONTEXTS": "x"})


def test_kind_creates_the_cluster_then_loads_every_scenario_image(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def runner(argv: Sequence[str]) -> str:
        calls.append(list(argv))
        return ""

    cluster = kind.KindCluster("drillbook-azora", tmp_path, runner)
    images = kind.scenario_images(SCENARIOS / "azora" / "manifests.yaml")
    cluster.create(images)
    cluster.delete()
    assert calls[0][:5] == ["kind", "create", "cluster", "--name", "drillbook-azora"]
    assert ["kind", "load", "docker-image", "postgres:15", "--name", "drillbook-azora"] in calls
    assert calls[-1] == ["kind", "delete", "cluster", "--name", "drillbook-azora"]
    assert any(image.startswith("azora/api-gateway:") for image in images)


def test_k3s_stops_its_container_when_provisioning_fails(tmp_path: Path) -> None:
    class FakeContainer:
        stopped = False

        def start(self) -> None:
            pass

        def config_yaml(self) -> str:
            return "not: [a kubeconfig"

        def stop(self) -> None:
            FakeContainer.stopped = True

    factory = k3s.provider(SCENARIOS, tmp_path, container_factory=FakeContainer)
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the kubeconfig parser raises
        factory("azora")
    assert FakeContainer.stopped
