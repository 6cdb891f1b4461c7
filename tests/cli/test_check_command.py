"""``drillbook check SYSTEM``: every scenario file validated with file:line errors, nothing provisioned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drillbook.cli import main

SEEDS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture
def azora(tmp_path: Path) -> Path:
    """A copy of the azora seed scenario to break, file by file."""
    target = tmp_path / "scenarios" / "azora"
    shutil.copytree(SEEDS / "azora", target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _check(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check", str(directory)])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("system", sorted(p.name for p in SEEDS.iterdir() if (p / "runbook.md").is_file()))
def test_every_seed_scenario_is_valid(system: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", system, "--scenarios", str(SEEDS)])
    captured = capsys.readouterr()
    assert (code, captured.out) == (0, "")
    assert "is valid" in captured.err


def test_an_unknown_system_exits_2_and_lists_the_systems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "orders", "--scenarios", str(SEEDS)]) == 2
    err = capsys.readouterr().err
    assert "no system 'orders'" in err
    assert "azora" in err


def test_a_missing_required_file_is_named(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (azora / "images.yaml").unlink()
    code, lines = _check(azora, capsys)
    assert code == 1
    assert f"{azora / 'images.yaml'}: missing: a system needs images.yaml (see docs/scenario-files.md)" in lines


def test_an_unknown_scenario_key_names_its_line(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(azora / "scenario.yaml", "slos:", "slo:")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert any(line.startswith(f"{azora / 'scenario.yaml'}:28: unknown key 'slo'") for line in lines), lines


def test_the_app_deployment_must_be_in_the_manifests(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(azora / "scenario.yaml", "  deployment: api-gateway", "  deployment: api-gw")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert any(
        line.startswith(f"{azora / 'scenario.yaml'}:3: app: no Deployment production/api-gw in manifests.yaml")
        for line in lines
    ), lines


def test_an_image_no_map_knows_is_an_error_at_its_manifest_line(
    azora: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(azora / "manifests.yaml", "image: azora/api-gateway:1.4.0", "image: azora/api-gateway:9.9.9")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert any(
        line.startswith(f"{azora / 'manifests.yaml'}:252: image 'azora/api-gateway:9.9.9' of api-gateway/")
        for line in lines
    ), lines


def test_a_manifest_without_a_kind_is_an_error(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(azora / "manifests.yaml", "kind: Namespace", "knd: Namespace")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert f"{azora / 'manifests.yaml'}:3: this manifest has no 'kind'; every Kubernetes object needs one" in lines


def test_a_stand_in_image_must_name_a_profile_that_exists(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(azora / "images.yaml", "    - azora\n", "    - azorra\n")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert any("--profile 'azorra' has no standin.yaml; systems with one: azora" in line for line in lines), lines


def test_a_failure_mode_must_be_declared_in_the_standin_yaml(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(azora / "images.yaml", "STANDIN_ERROR_RATE: '0.3'", "STANDIN_FAILURE_MODE: flaky")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert any(
        line.startswith(f"{azora / 'images.yaml'}:37: image 'azora/api-gateway:1.5.0': STANDIN_FAILURE_MODE 'flaky'")
        for line in lines
    ), lines


def test_a_bad_binding_names_its_line(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(azora / "bindings.yaml", "{pod: app=api-gateway, namespace: production}", "{pods: app=api-gateway}")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert any(line.startswith(f"{azora / 'bindings.yaml'}:4: ") for line in lines), lines


def test_a_bad_standin_yaml_names_its_line(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(azora / "standin.yaml", "port: 8080", "port: http")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert f"{azora / 'standin.yaml'}:3: port must be an integer, got 'http'" in lines


def test_an_override_of_a_step_the_incident_lacks_names_its_steps(
    azora: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (azora / "drills.yaml").write_text("incidents:\n  RB-007:\n    supplied: {9: kubectl get pods}\n", "utf-8")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert (
        f"{azora / 'drills.yaml'}:2: incidents.RB-007.supplied: incident RB-007 has no step 9; its steps are "
        "1, 2, 3, 4, 5, 6, 7"
    ) in lines


def test_an_override_of_an_unknown_incident_needs_a_line_range(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (azora / "drills.yaml").write_text("incidents:\n  RB-099:\n    time_target: 10 minutes\n", "utf-8")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert any(
        line.startswith(f"{azora / 'drills.yaml'}:2: incident 'RB-099' is not in ") and "gives no 'lines'" in line
        for line in lines
    ), lines


def test_a_line_range_past_the_end_of_the_runbook_is_refused(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (azora / "drills.yaml").write_text("incidents:\n  RB-007:\n    lines: 369-1200\n", "utf-8")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert f"{azora / 'drills.yaml'}:2: incidents.RB-007.lines ends at line 1200, but runbook.md has 799 lines" in lines


def test_every_problem_is_reported_in_one_run(azora: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(azora / "standin.yaml", "port: 8080", "port: http")
    _edit(azora / "bindings.yaml", "{pod: app=api-gateway, namespace: production}", "{pods: app=api-gateway}")
    (azora / "drills.yaml").write_text("incidents:\n  RB-007:\n    time_target: soon\n", "utf-8")
    code, lines = _check(azora, capsys)
    assert code == 1
    assert {Path(line.split(":", 1)[0]).name for line in lines} == {"standin.yaml", "bindings.yaml", "drills.yaml"}
