"""kind, k3s and an existing cluster bring Prometheus up as their last action, through the API server their sandbox
kubeconfig names, and stop it first on teardown; an existing cluster whose API server is off loopback gets no
Prometheus, and the journal says why."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from provider_kubeconfig import kubeconfig_text

from drillbook.platform import existing, k3s, kind
from drillbook.platform.bringup import FILE, ActionEvent, BringUpEvent, BringUpJournal
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.prometheus import PrometheusAction, PrometheusContext, ThroughApiServer

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SYSTEM = "zephyr-voting"
FAKE_URL = "http://127.0.0.1:1"


class FakePrometheus(PrometheusAction):
    """Records the context it was brought up with and when it was stopped; starts nothing."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log
        self.context: PrometheusContext | None = None

    @property
    def url(self) -> str:
        return FAKE_URL

    def up(self, context: PrometheusContext) -> PrometheusAction:
        self.context = context
        self.log.append("prometheus up")
        return self

    def down(self) -> None:
        self.log.append("prometheus down")


class QuietSandbox(KubeSandbox):
    """A sandbox that runs no kubectl: applied and available at once."""

    def apply(self) -> None:
        pass

    def wait_available(self) -> None:
        pass


def _journal(run_dir: Path) -> list[BringUpEvent]:
    (path,) = run_dir.glob(f"sandboxes/*/{FILE}")
    return BringUpJournal(path).read()


def _finished(events: list[BringUpEvent]) -> list[str]:
    return [e.action for e in events if e.event is ActionEvent.FINISHED]


def _through_api_server(prometheus: FakePrometheus, address: str) -> None:
    assert prometheus.context is not None, "Prometheus was brought up"
    cluster = prometheus.context.cluster
    assert isinstance(cluster, ThroughApiServer)
    assert cluster.api_server.address == address
    assert cluster.api_server.scheme == "https"
    assert prometheus.context.state_dir.name.startswith("drillbook-prometheus-")


def _metrics_undo_replays_removing_its_state_dir(events: list[BringUpEvent]) -> None:
    started = next(e for e in events if e.event is ActionEvent.STARTED and e.action == "metrics")
    assert started.undo is not None
    assert started.undo.kind == "remove-dir"
    assert Path(str(started.undo.args["path"])).name.startswith("drillbook-prometheus-")


def test_kind_brings_prometheus_up_last_through_its_loopback_api_server_and_stops_it_first(tmp_path: Path) -> None:
    log: list[str] = []
    prometheus = FakePrometheus(log)

    def runner(argv: Sequence[str]) -> str:
        log.append(" ".join(argv[:3]))
        if tuple(argv[:3]) == ("kind", "create", "cluster"):
            Path(argv[argv.index("--kubeconfig") + 1]).write_text(kubeconfig_text("https://127.0.0.1:40123"))
        return ""

    sandbox = kind.provider(SCENARIOS, tmp_path, runner=runner, prometheus=lambda: prometheus)(SYSTEM)
    assert isinstance(sandbox, KubeSandbox)
    finished = _finished(_journal(tmp_path))
    assert finished[-2:] == ["access", "metrics"]
    assert finished.index("metrics") > max(i for i, name in enumerate(finished) if name.startswith("wait "))
    _through_api_server(prometheus, "127.0.0.1:40123")
    assert prometheus.context is not None
    assert prometheus.context.api_client is sandbox.api_client
    assert sandbox.prometheus_url == FAKE_URL, "the runbook's Prometheus URLs bind to it"
    _metrics_undo_replays_removing_its_state_dir(_journal(tmp_path))
    sandbox.close()
    assert log[-2:] == ["prometheus down", "kind delete cluster"], "Prometheus stops before the cluster goes"


def test_k3s_brings_prometheus_up_after_the_deployments_are_available_and_stops_it_first(tmp_path: Path) -> None:
    log: list[str] = []
    prometheus = FakePrometheus(log)

    class Container:
        def start(self) -> None:
            log.append("container start")

        def get_wrapped_container(self) -> Any:
            return type("Wrapped", (), {"id": "abc123"})()

        def config_yaml(self) -> str:
            return kubeconfig_text("https://localhost:32771")

        def stop(self) -> None:
            log.append("container stop")

    factory = k3s.provider(
        SCENARIOS,
        tmp_path,
        container_factory=Container,
        importer=lambda _id, _images: None,
        sandbox_type=QuietSandbox,
        prometheus=lambda: prometheus,
    )
    sandbox = factory(SYSTEM)
    assert _finished(_journal(tmp_path)) == ["cluster", "images", "deploy", "wait available", "metrics"]
    _through_api_server(prometheus, "localhost:32771")
    assert isinstance(sandbox, KubeSandbox)
    assert sandbox.prometheus_url == FAKE_URL
    sandbox.close()
    assert log[-2:] == ["prometheus down", "container stop"]


def _existing(tmp_path: Path, server: str, prometheus: FakePrometheus) -> KubeSandbox:
    source = tmp_path / "user-kubeconfig"
    source.write_text(kubeconfig_text(server))
    environ = {"KUBECONFIG": str(source), "DRILLBOOK_ALLOW_CONTEXTS": "kind-drill"}
    factory = existing.provider(
        SCENARIOS,
        tmp_path / "run",
        environ,
        existed=lambda _env: lambda _kind, _ns, _name: True,  # all there already: teardown deletes nothing
        sandbox_type=QuietSandbox,
        prometheus=lambda: prometheus,
    )
    sandbox = factory(SYSTEM)
    assert isinstance(sandbox, KubeSandbox)
    return sandbox


def test_an_existing_cluster_on_loopback_gets_prometheus_through_its_api_server_last(tmp_path: Path) -> None:
    log: list[str] = []
    prometheus = FakePrometheus(log)
    sandbox = _existing(tmp_path, "https://127.0.0.1:6443", prometheus)
    assert _finished(_journal(tmp_path / "run")) == ["deploy", "wait available", "metrics"]
    _through_api_server(prometheus, "127.0.0.1:6443")
    assert sandbox.prometheus_url == FAKE_URL
    sandbox.close()
    assert log == ["prometheus up", "prometheus down"]


@pytest.mark.parametrize("server", ["https://10.1.2.3:6443", "https://api.staging.example.com"])
def test_an_existing_cluster_off_loopback_gets_no_prometheus_and_the_journal_says_why(
    tmp_path: Path, server: str
) -> None:
    log: list[str] = []
    sandbox = _existing(tmp_path, server, FakePrometheus(log))
    events = _journal(tmp_path / "run")
    metrics = next(e for e in events if e.event is ActionEvent.FINISHED and e.action == "metrics")
    reason = str(metrics.facts["left_out"])
    assert f"the API server {server} is not on loopback" in reason
    assert "Prometheus is not part of this sandbox" in reason
    assert log == [], "nothing was started"
    assert sandbox.prometheus_url is None, "the runbook's Prometheus URLs keep the scenario's unbound reason"
    sandbox.close()
