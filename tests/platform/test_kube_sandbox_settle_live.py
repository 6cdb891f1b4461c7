"""KubeSandbox.change_fingerprint on a real localkube sandbox (zephyr-voting): at rest once provisioned and stable
across probes, on its way while a rollout restart replaces the app's pods, and at rest again, with a new
fingerprint, once the rollout completes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillbook.drill.settle import SandboxSnapshot
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local.sandbox import provision_local

pytestmark = pytest.mark.live

ZEPHYR = Path(__file__).resolve().parents[2] / "scenarios" / "zephyr-voting"
ROLLOUT_WITHIN_S = 90.0
"""A restart of one stand-in pod takes seconds; a loaded 2-core machine gets far more."""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSandbox]:
    provisioned = provision_local(ZEPHYR, tmp_path_factory.mktemp("settle"))
    try:
        yield provisioned
    finally:
        provisioned.close()


def _until_at_rest(sandbox: KubeSandbox, seen: list[SandboxSnapshot]) -> SandboxSnapshot:
    deadline = time.monotonic() + ROLLOUT_WITHIN_S
    while time.monotonic() < deadline:
        snapshot = sandbox.change_fingerprint()
        seen.append(snapshot)
        if not snapshot.unsettled:
            return snapshot
        time.sleep(0.2)
    pods = sandbox.kubectl("get", "pods", "-n", "default", "-o", "wide")
    pytest.fail(f"never at rest within {ROLLOUT_WITHIN_S:.0f} s; last: {seen[-1].unsettled}\n{pods}")


def test_a_provisioned_sandbox_is_at_rest_and_its_fingerprint_holds(sandbox: KubeSandbox) -> None:
    first = _until_at_rest(sandbox, [])
    time.sleep(2.0)  # the kubelet's and controllers' periodic syncs must not move it
    assert sandbox.change_fingerprint() == first


def test_a_rollout_restart_is_seen_on_its_way_and_then_at_rest_with_a_new_fingerprint(sandbox: KubeSandbox) -> None:
    before = _until_at_rest(sandbox, [])
    sandbox.kubectl("rollout", "restart", "deployment/zephyr-backend", "-n", "default")
    seen: list[SandboxSnapshot] = []
    after = _until_at_rest(sandbox, seen)
    assert any(snapshot.unsettled for snapshot in seen), "the rollout was never seen on its way"
    assert after.fingerprint != before.fingerprint
