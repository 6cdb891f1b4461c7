"""``drillbook list`` shows what a drill can name: systems and incidents, drills, faults and their parameters,
step sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_list_shows_each_incident_as_the_runbook_writes_it_and_flags_one_with_nothing_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "runbook.md").write_text(
        "# Shop\n\n## RB-101: Checkout down\n\n**Time to Resolve**: 15 minutes\n\n1. Restart\n\n"
        "   ```bash\n   kubectl rollout restart deployment/shop -n shop\n   ```\n\n"
        "## RB-102: Payments slow\n\nLook at the dashboards.\n"
    )
    assert main(["list", "--systems", "--scenarios", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "shop" in out
    assert "RB-101" in out
    assert "1 steps, 1 commands, target 15 min" in out
    assert "RB-102" in out
    assert "<- nothing to run: drillbook lint" in out.split("RB-102", 1)[1]


def test_list_shows_every_fault_with_the_parameters_it_declares(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--faults"]) == 0
    out = capsys.readouterr().out
    assert "pool-exhaustion" in out
    assert "mode (idle|active, default idle)" in out
    assert "latency_ms (int, ms, >= 1, default 1000)" in out
    assert "dependency (str, default postgres)" in out  # declared once for both proxy faults
    assert "tag (str, required)" in out  # bad-release: the schema the drills are checked against


def test_list_shows_drills_with_file_line_and_incident(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--drills", "--features", str(ROOT / "features")]) == 0
    out = capsys.readouterr().out
    assert f"{ROOT / 'features' / 'azora.feature'}:8  azora/RB-007" in out


def test_list_shows_the_library_and_project_step_sentences(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--steps", "--features", str(ROOT / "features")]) == 0
    out = capsys.readouterr().out
    assert "Given steady traffic of <N> users" in out
    assert "When a leaking worker exhausts the database connections" in out


def test_list_shows_an_incident_only_drills_yaml_defines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "catalog"
    page.mkdir()
    (page / "runbook.md").write_text(
        "# Alert: CatalogHighErrorRate\n\n## Mitigation\n\nRoll back with "
        "`kubectl rollout undo deployment/catalog-web -n catalog`.\n"
    )
    (page / "drills.yaml").write_text("incidents:\n  CatalogHighErrorRate:\n    lines: 1-5\n")
    assert main(["list", "--systems", "--scenarios", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "CatalogHighErrorRate" in out
    assert "(defined by drills.yaml:2)" in out


def test_a_reader_that_goes_away_ends_the_command_quietly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def closed_pipe(*_args: object, **_kwargs: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("builtins.print", closed_pipe)
    assert main(["list", "--faults"]) == 141
    assert capsys.readouterr().err == ""  # no traceback, no error line
