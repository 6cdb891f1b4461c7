"""Runbook commands see one cluster: the sandbox's context, pinned, whatever the user's kubeconfig holds."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from drillbook.errors import UsageError
from drillbook.execute import StepExecutor
from drillbook.execute.kubeconfig import pin, read_context
from drillbook.platform.existing import check_allowed, check_unchanged
from drillbook.runbook.model import Command, Effect, Step

MULTI = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "sandbox",
    "clusters": [
        {"name": "prod", "cluster": {"server": "https://10.9.9.9:6443", "certificate-authority-data": "UFJPRA=="}},
        {"name": "sbx", "cluster": {"server": "http://127.0.0.1:1", "certificate-authority-data": "U0JY"}},
    ],
    "users": [{"name": "prod-admin", "user": {"token": "prod-secret"}}, {"name": "sbx", "user": {"token": "t"}}],
    "contexts": [
        {"name": "prod-cluster", "context": {"cluster": "prod", "user": "prod-admin"}},
        {"name": "sandbox", "context": {"cluster": "sbx", "user": "sbx"}},
    ],
}


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(MULTI))
    return path


def test_the_pinned_kubeconfig_holds_the_one_context_and_nothing_of_the_others(
    kubeconfig: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "pinned" / "config"
    pinned = pin(kubeconfig, dest)
    data = yaml.safe_load(dest.read_text())
    assert [c["name"] for c in data["contexts"]] == ["sandbox"]
    assert [c["name"] for c in data["clusters"]] == ["sbx"]
    assert "prod-secret" not in dest.read_text()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert (pinned.context, pinned.server) == ("sandbox", "http://127.0.0.1:1")


def test_a_context_the_kubeconfig_lacks_is_named(kubeconfig: Path) -> None:
    with pytest.raises(UsageError, match="has no context named 'staging'"):
        read_context(kubeconfig, "staging")


@pytest.mark.slow
def test_a_step_sees_only_the_sandbox_context(kubeconfig: Path, public_dir: Path, view: object) -> None:
    view.env = lambda: {"KUBECONFIG": str(kubeconfig)}  # type: ignore[attr-defined]
    executor = StepExecutor(view=view, workdir=public_dir / "steps")  # type: ignore[arg-type]
    step = Step(
        1, "Look", "", 9, (Command("kubectl config get-contexts -o name", 10, "bash", "kubectl", Effect.READ_ONLY),)
    )
    [outcome] = executor.run_step(step)
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.split() == ["sandbox"]


def test_an_allowed_context_that_points_at_another_server_than_pinned_is_refused(kubeconfig: Path) -> None:
    with pytest.raises(UsageError, match=r"points at http://127.0.0.1:1, but DRILLBOOK_ALLOW_CONTEXTS pins it to"):
        check_allowed(kubeconfig, {"DRILLBOOK_ALLOW_CONTEXTS": "sandbox=https://10.1.1.1:6443"})
    assert check_allowed(kubeconfig, {"DRILLBOOK_ALLOW_CONTEXTS": "sandbox=http://127.0.0.1:1"}) == "sandbox"


def test_a_context_repointed_during_the_run_is_refused_before_the_next_provision(
    kubeconfig: Path, tmp_path: Path
) -> None:
    pinned = pin(kubeconfig, tmp_path / "pinned")
    check_unchanged(kubeconfig, "sandbox", pinned)
    changed = {**MULTI, "clusters": [{"name": "sbx", "cluster": {"server": "https://10.9.9.9:6443"}}]}
    kubeconfig.write_text(yaml.safe_dump(changed))
    with pytest.raises(UsageError, match=r"changed during the run: it pointed at http://127\.0\.0\.1:1 and now"):
        check_unchanged(kubeconfig, "sandbox", pinned)


def test_a_context_whose_ca_changed_during_the_run_is_refused_though_its_server_is_the_same(
    kubeconfig: Path, tmp_path: Path
) -> None:
    # Same URL, another cluster behind it: only its CA tells them apart.
    pinned = pin(kubeconfig, tmp_path / "pinned")
    other_ca = {"server": "http://127.0.0.1:1", "certificate-authority-data": "T1RIRVI="}
    changed = {**MULTI, "clusters": [{"name": "sbx", "cluster": other_ca}]}
    kubeconfig.write_text(yaml.safe_dump(changed))
    with pytest.raises(UsageError, match=r"changed during the run: .* \(or its CA changed\); refusing to provision"):
        check_unchanged(kubeconfig, "sandbox", pinned)
