"""The executor runs what the policy allows, in a sandboxed shell with a deadline."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.errors import UsageError
from drillbook.execute import Bindings, StepExecutor, containment
from drillbook.journal import Decision
from drillbook.runbook.model import Command, Effect, Step

pytestmark = pytest.mark.live


def _step(*texts: str, tool: str = "bash") -> Step:
    commands = tuple(Command(t, 10 + i, "bash", tool, Effect.READ_ONLY) for i, t in enumerate(texts))
    return Step(1, "Try", "", 9, commands)


def test_a_command_runs_with_a_throwaway_home_and_the_sandbox_environment(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    [outcome] = executor.run_step(_step('echo "home=$HOME kube=$KUBECONFIG"'))
    assert outcome.decision is Decision.RUNS
    assert outcome.exit_code == 0
    # As the command sees them: its work dir, wherever it lives on the host, and its own pinned kubeconfig.
    assert f"home={executor.root / 'home'}" in outcome.output
    assert f"kube={executor.root / 'kube' / 'config'}" in outcome.output
    assert "/nonexistent" not in outcome.output


def test_a_failing_command_keeps_its_exit_code(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    [outcome] = executor.run_step(_step("echo broken >&2; exit 3"))
    assert outcome.exit_code == 3
    assert "broken" in outcome.output


def test_a_command_past_its_deadline_is_killed_with_its_process_group(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path, deadline_s=1.0)  # type: ignore[arg-type]
    [outcome] = executor.run_step(_step("sleep 30 & sleep 30; echo never"))
    assert outcome.exit_code == 124
    assert outcome.ended - outcome.started < 10
    assert "did not finish" in outcome.reason


def test_a_never_ending_command_is_bounded_and_counts_as_done(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path, bounded_s=0.5)  # type: ignore[arg-type]
    [outcome] = executor.run_step(_step("tail -f /dev/null"))
    assert outcome.decision is Decision.BOUNDED
    assert outcome.exit_code is None


def test_the_curl_shim_refuses_a_non_loopback_target_without_touching_the_network(
    tmp_path: Path, view: object, public_dir: Path
) -> None:
    # The "real" curl behind the shim is a recorder here, so even a broken shim sends nothing anywhere.
    fake_bin = public_dir / "fakebin"
    fake_bin.mkdir()
    (fake_bin / "curl").write_text("#!/bin/sh\necho REAL-CURL-CALLED\n")
    (fake_bin / "curl").chmod(0o755)
    real_dirs = view.tool_dirs()  # type: ignore[attr-defined]
    view.tool_dirs = lambda: [fake_bin, *real_dirs]  # type: ignore[attr-defined]
    executor = StepExecutor(view=view, workdir=tmp_path / "work")  # type: ignore[arg-type]
    # The policy cannot see this URL; the shim is the second line of defence for indirect calls.
    [blocked] = executor.run_step(_step("U=$(printf 'https%sexample.com' ://); curl -s \"$U\""))
    assert blocked.exit_code == 6
    assert "blocked" in blocked.output
    assert "REAL-CURL-CALLED" not in blocked.output
    [allowed] = executor.run_step(_step("U=$(printf 'http%s127.0.0.1:9/x' ://); curl -s \"$U\""))
    assert "REAL-CURL-CALLED" in allowed.output


def test_bindings_rewrite_urls_and_placeholders_and_both_texts_are_kept(tmp_path: Path, view: object) -> None:
    bindings_file = tmp_path / "bindings.yaml"
    bindings_file.write_text(
        "urls:\n  https://api.zephyr.example.com: {service: zephyr-backend}\n"
        "placeholders:\n  <pod-name>: {pod: app=zephyr-backend}\n"
    )
    executor = StepExecutor(view=view, workdir=tmp_path, bindings=Bindings.load(bindings_file))  # type: ignore[arg-type]
    step = Step(
        1,
        "Check",
        "",
        1,
        (
            Command("echo https://api.zephyr.example.com/api/health", 2, "bash", "curl", Effect.READ_ONLY),
            Command("echo <pod-name>", 3, "bash", "kubectl", Effect.READ_ONLY, ("<pod-name>",)),
        ),
    )
    first, second = executor.run_step(step)
    assert first.as_written == "echo https://api.zephyr.example.com/api/health"
    assert first.as_run == "echo http://127.20.0.9:8080/api/health"
    assert second.as_run == "echo zephyr-backend-6d4b7c9f8-x2kq7"


def test_a_prose_only_step_is_manual_unless_the_drill_supplies_a_command(tmp_path: Path, view: object) -> None:
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    step = Step(3, "Restart Redis service", "Restart Redis service", 5)
    [manual] = executor.run_step(step)
    assert manual.decision is Decision.MANUAL
    [supplied] = executor.run_step(step, supplied="echo restarted")
    assert supplied.decision is Decision.SUPPLIED
    assert supplied.supplied_by_drill
    assert supplied.output.strip() == "restarted"


def test_a_bad_bindings_file_names_the_file_line_and_allowed_keys(tmp_path: Path) -> None:
    import pytest

    from drillbook.errors import ScenarioError

    bad = tmp_path / "bindings.yaml"
    bad.write_text("urls: {}\nplacehodlers: {}\n")
    with pytest.raises(ScenarioError, match=r"bindings.yaml:2: unknown key 'placehodlers'; allowed keys: hosts"):
        Bindings.load(bad)


def test_where_the_os_cannot_contain_a_dry_run_still_plans_and_a_real_run_is_refused(
    tmp_path: Path, view: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(containment, "_CURRENT", None)
    monkeypatch.setattr(containment, "why_not_contained", lambda: "not running as root: cannot switch users")
    monkeypatch.delenv(containment.OPT_IN, raising=False)
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    [planned] = executor.run_step(_step("echo hi"), dry_run=True)
    assert planned.decision is Decision.RUNS
    with pytest.raises(UsageError, match="cannot be contained on this machine: not running as root"):
        executor.run_step(_step("echo hi"))
    monkeypatch.setenv(containment.OPT_IN, "1")
    [ran] = executor.run_step(_step("echo hi"))
    assert ran.output == "hi\n"
