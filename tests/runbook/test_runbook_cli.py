"""``drillbook parse`` and ``drillbook lint`` output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drillbook.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CLEAN = "# Ops\n\n## P1: Down\n\n**Time to Resolve**: 5 minutes\n\n1. **Check**\n   ```bash\n   echo ok\n   ```\n"


def test_parse_prints_an_outline_with_ids_targets_and_effects(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(SCENARIOS / "azora" / "runbook.md")]) == 0
    out = capsys.readouterr().out
    assert "(13 incidents)" in out
    assert (
        "[RB-007] RB-007: Database Connection Pool Exhausted  (line 369; severity Critical; time_to_resolve 900s)"
        in out
    )
    assert "[mutating] kubectl rollout restart deployment/api-gateway -n production  (kubectl)" in out


def test_parse_json_has_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--json", str(SCENARIOS / "zephyr-voting" / "runbook.md")]) == 0
    data = json.loads(capsys.readouterr().out)
    first = data["incidents"][0]
    assert first["id"] == "Incident-1"
    assert first["time_target"] == {
        "kind": "mttr",
        "text": "Mean Time to Recovery (MTTR): <30 minutes for critical incidents",
        "seconds": 1800.0,
        "line": 49,
    }
    assert first["alerts"][0]["for_seconds"] == 120
    assert {"metric", "op", "threshold", "unit", "text"} <= data["slos"][0].keys()
    command = first["steps"][1]["commands"][0]
    assert command["effect"] == "non-terminating"
    assert command["tool"] == "kubectl"


def test_parse_of_a_missing_file_is_a_clean_error_with_exit_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", str(tmp_path / "nope.md")]) == 2
    err = capsys.readouterr().err
    assert "nope.md" in err
    assert "Traceback" not in err


def test_lint_clean_runbook_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "clean.md"
    path.write_text(CLEAN)
    assert main(["lint", str(path)]) == 0
    assert capsys.readouterr().out == ""


def test_lint_findings_print_as_file_line_rule_and_exit_one(capsys: pytest.CaptureFixture[str]) -> None:
    path = SCENARIOS / "azora" / "runbook.md"
    assert main(["lint", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    line = next(text for text in out if text.startswith(f"{path}:52: "))
    assert line == (
        f"{path}:52: unresolved-placeholder: 'kubectl describe pod <pod-name> -n production' uses <pod-name> "
        "(bind it in the scenario's bindings or write the real value)"
    )


def test_lint_json_lists_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rb.md"
    path.write_text(CLEAN.replace("echo ok", "kubectl logs -f <pod>"))
    assert main(["lint", "--json", str(path)]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert {(f["line"], f["rule"], f["incident"]) for f in findings} >= {(9, "never-ends", "P1")}


def test_lint_with_an_unreadable_file_exits_two_but_lints_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clean.md"
    path.write_text(CLEAN)
    assert main(["lint", str(path), str(tmp_path / "missing.md")]) == 2
    captured = capsys.readouterr()
    assert "missing.md" in captured.err
    assert "check the path" in captured.err


def test_parse_and_lint_name_file_line_and_fix_for_bad_utf8_and_an_unclosed_fence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "disk.md"
    path.write_bytes(b"# Disk \xff full\n\n## P1: Disk full\n\n```bash\ndf -h\n")
    assert main(["parse", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{path}: ")
    assert "  note line 1: invalid-utf8: invalid UTF-8 (byte 0xff) read as U+FFFD; save the file as UTF-8" in (
        captured.out
    )
    assert "  note line 5: unclosed-fence: the code block opened here with ``` is never closed" in captured.out
    assert main(["lint", str(path)]) == 1
    captured = capsys.readouterr()
    assert f"{path}:1: invalid-utf8: invalid UTF-8 (byte 0xff) read as U+FFFD; save the file as UTF-8" in captured.out
    assert (
        f"{path}:5: unclosed-fence: the code block opened here with ``` is never closed, so the rest of the file "
        "is read as code; add a line of ``` where the block ends"
    ) in captured.out
    assert "Traceback" not in captured.out + captured.err


def test_lint_without_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["lint"])
    assert caught.value.code == 2


@pytest.mark.live
def test_outline_survives_a_terminal_that_cannot_show_the_text(tmp_path: Path) -> None:
    path = tmp_path / "moj.md"
    path.write_bytes(b"# T\xff\n\n## RB-1: x \xe2\x86\x92\n\n```bash\nkubectl get pods\n```\n")
    env = {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "drillbook", "parse", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[RB-1] RB-1: x \\u2192" in done.stdout
