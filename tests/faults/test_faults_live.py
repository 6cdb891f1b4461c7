"""Faults against a running stand-in system on localkube, felt by real traffic: each breaches the SLOs, is
reverted, and the system recovers. (pool-exhaustion, bad-release, load-spike, slow-query and redis-outage are
exercised the same way by the seed game day, whose verdicts tests/gameday pins.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from drillbook.faults.base import Fault, fault_class
from drillbook.faults.target import FaultTarget
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local.sandbox import provision_local
from drillbook.platform.local.toxiproxy import ToxiproxyProcess
from drillbook.slo.checks import check_from_text
from drillbook.slo.monitor import Breach, Monitor, MonitorSettings, Restore

pytestmark = pytest.mark.slow

ZEPHYR = Path(__file__).resolve().parents[2] / "scenarios" / "zephyr-voting"


class Live:
    """A provisioned zephyr-voting with traffic, an SLO monitor, and the fault proxy in front of PostgreSQL."""

    def __init__(self, sandbox: KubeSandbox, proxy: ToxiproxyProcess) -> None:
        self.sandbox = sandbox
        self.proxy_url = proxy.url
        checks = [check_from_text("error rate < 1%"), check_from_text("p95 latency < 500ms")]
        self.monitor = Monitor(checks, MonitorSettings(window_s=2.0, tick_s=0.25, hold_s=3.0, lag_s=0.25))
        self.traffic = sandbox.start_traffic(8, self.monitor.record)

    def target(self) -> FaultTarget:
        target = self.sandbox.fault_target(self.traffic)
        target.toxiproxy_url = self.proxy_url
        target.proxies = {"postgres": "postgres"}
        return target

    def wait_for(self, kind: type, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        seen = len([e for e in self.monitor.events if isinstance(e, kind)])
        while time.monotonic() < deadline:
            self.monitor.poll()
            if len([e for e in self.monitor.events if isinstance(e, kind)]) > seen:
                return True
            time.sleep(0.2)
        return False

    def healthy(self, timeout_s: float) -> bool:
        """Restored: every check holds (after a breach, the monitor says so with a Restore)."""
        return not self.monitor.breached or self.wait_for(Restore, timeout_s)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    run_dir = tmp_path_factory.mktemp("live")
    sandbox = provision_local(ZEPHYR, run_dir)
    proxy = ToxiproxyProcess()
    try:
        proxy.start()
        host, port = sandbox.access.address("default", "postgres", 5432)
        requests.post(
            f"{proxy.url}/proxies",
            json={"name": "postgres", "listen": "127.0.0.1:0", "upstream": f"{host}:{port}"},
            timeout=5,
        ).raise_for_status()
        listen = requests.get(f"{proxy.url}/proxies/postgres", timeout=5).json()["listen"]
        # The app reaches PostgreSQL through the proxy, as it would through a Toxiproxy sidecar.
        sandbox.kubectl(
            "set",
            "env",
            "deployment/zephyr-backend",
            f"DATABASE_URL=postgresql://zephyr:zephyr-db-pass@{listen}/zephyr",
        )
        sandbox.kubectl("rollout", "status", "deployment/zephyr-backend", "--timeout=90s", timeout_s=100)
        state = Live(sandbox, proxy)
        assert not state.wait_for(Breach, 6.0), "the baseline must hold before any fault"
        yield state
        state.traffic.stop()
    finally:
        proxy.stop()
        sandbox.close()


def _rehearse(live: Live, make: Callable[[FaultTarget], Fault], recover_s: float = 90.0) -> None:
    with make(live.target()):
        assert live.wait_for(Breach, 45.0), "the fault never breached the SLOs"
    assert live.healthy(recover_s), "the system did not recover after the revert"


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("latency", {"latency_ms": "1500"}),
        ("partition", {}),
        ("pod-kill", {}),
        ("memory-leak", {"mb_per_s": "120"}),
    ],
)
def test_the_fault_breaches_the_slos_and_the_system_recovers_after_its_revert(
    live: Live, name: str, params: dict[str, str]
) -> None:
    _rehearse(live, lambda target: fault_class(name)(target, params))


@pytest.mark.parametrize("mode", ["missing-env", "bad-command", "bad-image"])
def test_a_bad_deploy_breaks_a_recreate_deployment_and_its_revert_rolls_back(live: Live, mode: str) -> None:
    # With the default rolling update (maxUnavailable 0) old pods keep serving through a bad deploy: no outage,
    # which is the truth. A Recreate deployment takes the old pods down first, so the bad deploy is an outage.
    deployment = "deployment/zephyr-backend"
    live.sandbox.kubectl("patch", deployment, "--type", "json", "-p", _RECREATE)
    try:
        params = {"mode": mode, "variable": "DATABASE_URL"} if mode == "missing-env" else {"mode": mode}
        _rehearse(live, lambda target: fault_class("crashloop")(target, params))
    finally:
        live.sandbox.kubectl("patch", deployment, "--type", "json", "-p", _ROLLING)
        live.sandbox.kubectl("rollout", "status", deployment, "--timeout=90s", timeout_s=100)


_RECREATE = '[{"op": "replace", "path": "/spec/strategy", "value": {"type": "Recreate"}}]'
_ROLLING = (
    '[{"op": "replace", "path": "/spec/strategy", "value": {"type": "RollingUpdate", '
    '"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}]'
)


def _breach_then_fail(live: Live, fault: Fault) -> None:
    with fault:
        assert live.wait_for(Breach, 45.0)
        raise RuntimeError("operator typo")


def test_the_revert_runs_when_the_code_inside_raises(live: Live) -> None:
    fault = fault_class("partition")(live.target(), {})
    with pytest.raises(RuntimeError, match="operator typo"):
        _breach_then_fail(live, fault)
    assert fault.reverted
    assert live.healthy(60.0)
