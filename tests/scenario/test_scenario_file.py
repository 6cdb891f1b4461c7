"""scenario.yaml is decoded strictly, with errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.errors import ScenarioError
from drillbook.scenario import MAX_INPUT_BYTES, SCENARIO_FILES, load_scenario

GOOD = """\
app: {namespace: production, deployment: api-gateway, service: api-gateway, port: 80, selector: app=api-gateway}
postgres: {namespace: production, service: postgres, database: azora}
redis: {namespace: production, service: redis}
traffic:
  - {name: health, path: /api/health}
  - {name: create, method: POST, path: /api/polls, weight: 2, json: {title: x}}
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "scenario.yaml").write_text(text)
    return tmp_path


def test_a_complete_scenario_is_read_with_defaults_filled_in(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, GOOD))
    assert scenario.app.deployment == "api-gateway"
    assert scenario.postgres is not None
    assert scenario.postgres.port == 5432
    assert scenario.redis is not None
    assert [e.name for e in scenario.traffic] == ["health", "create"]
    assert scenario.traffic[1].json == {"title": "x"}


def test_an_unknown_key_names_the_file_line_and_allowed_keys(tmp_path: Path) -> None:
    text = "app: {namespace: a, deployment: b, service: c, port: 1}\npostgres:\n  databse: x\n"
    with pytest.raises(ScenarioError, match=r"scenario.yaml:3: unknown key 'databse'; allowed keys: .*database"):
        load_scenario(_write(tmp_path, text))


def test_a_wrong_type_is_reported_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r":1: 'port' must be an integer, got 'http'"):
        load_scenario(_write(tmp_path, "app: {namespace: a, deployment: b, service: c, port: http}\n"))


def test_missing_required_keys_are_listed(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="missing required keys: service, port"):
        load_scenario(_write(tmp_path, "app: {namespace: a, deployment: b}\n"))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        load_scenario(tmp_path)


@pytest.mark.parametrize("name", SCENARIO_FILES)
def test_any_scenario_file_over_the_size_limit_is_refused_naming_the_file_and_the_limit(
    tmp_path: Path, name: str
) -> None:
    _write(tmp_path, GOOD)
    with (tmp_path / name).open("ab") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)  # sparse: the size is what is checked, before anything is read
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / name}: expected a scenario file of at most 4 MB, found 4.0 MB; is this the right file? "
        "Split manifests per system or remove generated noise"
    )


def test_a_scenario_file_that_is_a_device_is_refused_before_it_is_read(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    (tmp_path / "manifests.yaml").symlink_to("/dev/zero")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'manifests.yaml'}: expected a regular YAML file, found a directory, device or pipe; "
        "replace it with the YAML file"
    )


def test_the_seed_scenarios_are_within_the_size_limit() -> None:
    for directory in sorted((Path(__file__).resolve().parents[2] / "scenarios").iterdir()):
        if (directory / "scenario.yaml").is_file():
            assert load_scenario(directory).name == directory.name
