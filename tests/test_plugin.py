"""The pytest plugin, driven through ``pytester`` in this process: collection checks with the feature's file:line,
ini options, other projects' tests left alone, and Ctrl-C during a drill over a fake sandbox.

Nothing here provisions a system: drills stop at collection, or run against a fake sandbox factory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drillbook.faults.base import load_builtin_faults
from drillbook.journal import ToolVersions

pytest_plugins = ("pytester",)

load_builtin_faults()  # here, so pytester keeps the fault modules its runs would otherwise import afresh each time

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
TEST_MODULE = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'


@pytest.fixture(autouse=True)
def _no_tool_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a run asks kubectl, postgres and git for their versions: not here (the unit tier runs no process)."""
    monkeypatch.setattr("drillbook.gherkin.run.tool_versions", lambda: ToolVersions(python="3"))
    monkeypatch.setattr("drillbook.gherkin.run._git_commit", lambda path: None)


def _collect(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--co", "-q", "-p", "no:cacheprovider", f"--drillbook-scenarios={SCENARIOS}", *args)


def _drill(pytester: pytest.Pytester, body: str, *, name: str = "drill") -> None:
    pytester.makefile(".feature", **{name: body})
    pytester.makepyfile(**{f"test_{name}": TEST_MODULE})


def test_an_unknown_fault_parameter_fails_collection_at_the_feature_line_with_what_the_fault_takes(
    pytester: pytest.Pytester,
) -> None:
    _drill(
        pytester,
        """\
Feature: a slow database
  Scenario: RB-004 under latency
    Given the "azora" system is running on the local platform
    When the "latency" fault is injected with delay_sec "3"
    Then the SLOs of incident "RB-004" are breached within 30 seconds
""",
    )
    result = _collect(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            '*drill.feature:4: fault "latency" has no parameter "delay_sec"; it takes: latency_ms (int, ms, >= 1, '
            "default 1000), jitter_ms (int, ms, >= 0, default 0)*"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_bad_fault_value_fails_collection_at_the_feature_line(pytester: pytest.Pytester) -> None:
    _drill(
        pytester,
        """\
Feature: a slow database
  Scenario: RB-004 under latency
    Given the "azora" system is running on the local platform
    When the "latency" fault is injected with latency_ms "fast"
    Then the SLOs of incident "RB-004" are breached within 30 seconds
""",
    )
    result = _collect(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(['*drill.feature:4: fault "latency": parameter "latency_ms" must be an integer*'])


def test_an_unknown_incident_fails_collection_with_the_runbooks_incidents_and_the_closest(
    pytester: pytest.Pytester,
) -> None:
    _drill(
        pytester,
        """\
Feature: azora
  Scenario: a typo in the incident
    Given the "azora" system is running on the local platform
    When the "pod-kill" fault is injected
    Then the SLOs of incident "RB-07" are breached within 30 seconds
""",
    )
    result = _collect(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*drill.feature:5: no incident 'RB-07' in azora's runbook; it has: RB-001, *(did you mean 'RB-007'?)*"]
    )


def test_two_incidents_in_one_drill_fail_collection(pytester: pytest.Pytester) -> None:
    _drill(
        pytester,
        """\
Feature: azora
  Scenario: two incidents
    Given the "azora" system is running on the local platform
    When the "pod-kill" fault is injected
    Then the SLOs of incident "RB-007" are breached within 30 seconds
    When the operator follows incident "RB-003"
""",
    )
    result = _collect(pytester)
    result.stderr.fnmatch_lines(["*drill.feature:6: the drill follows incident RB-007 (line 5) but this sentence*"])


GOOD = """\
Feature: azora
  Scenario: RB-007 after a pod kill
    Given the "azora" system is running on the local platform
    When the "pod-kill" fault is injected with count "1"
    Then the SLOs of incident "RB-007" are breached within 30 seconds
"""


def test_a_drill_that_names_real_things_collects_with_its_incident_as_a_keyword(pytester: pytest.Pytester) -> None:
    _drill(pytester, GOOD)
    result = _collect(pytester, "-k", "RB-007")
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    result.stdout.fnmatch_lines(["*test_rb007_after_a_pod_kill*", "1 test collected*"])


FOREIGN_STEPS = """\
from pytest_bdd import given, scenarios, then

scenarios("billing.feature")


@given('the "billing" system is configured')
def configured():
    pass


@then("invoices are sent")
def sent():
    pass
"""

FOREIGN = """\
Feature: billing, another team's features in the same session
  Scenario: invoices
    Given the "billing" system is configured
    Then invoices are sent

  Scenario: a step nobody wrote yet
    Given the "billing" system is configured
    Then refunds are sent
"""


def test_another_projects_features_and_tests_are_neither_checked_nor_changed(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", billing=FOREIGN)
    pytester.makepyfile(test_billing=FOREIGN_STEPS, test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider", f"--drillbook-scenarios={SCENARIOS}")
    # pytest-bdd, not drillbook, reports the missing step when that scenario runs; everything else passes
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*StepDefinitionNotFoundError*refunds are sent*"])
    assert "drillbook" not in result.stderr.str()
    assert not (pytester.path / "reports").exists(), "a run directory was made for a session with no drill"


def test_another_projects_scenarios_get_no_drill_keywords(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", billing=FOREIGN.replace('"billing"', '"azora"'))
    pytester.makepyfile(test_billing=FOREIGN_STEPS.replace('"billing"', '"azora"'))
    result = _collect(pytester, "-k", "azora")
    result.stdout.fnmatch_lines(["*no tests collected (2 deselected)*"])


def test_selecting_a_drill_file_leaves_another_projects_tests_selected(pytester: pytest.Pytester) -> None:
    _drill(pytester, GOOD, name="pods")
    pytester.makefile(".feature", billing=FOREIGN)
    pytester.makepyfile(test_billing=FOREIGN_STEPS, test_plain="def test_plain():\n    assert True\n")
    result = _collect(pytester, f"--drillbook-feature={pytester.path / 'pods.feature'}")
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    # test_pods.py's scenarios(".") also picks up billing.feature: drillbook keeps those too, as any test
    result.stdout.fnmatch_lines(["test_billing.py::test_invoices", "*test_plain*", "*6 tests collected*"])


def test_every_drillbook_option_is_also_an_ini_option_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    out = " ".join(result.stdout.str().split())  # as read, not as wrapped
    for name in ("reports", "platform", "scenarios", "run_id", "feature", "shard", "jobs"):
        option = "--drillbook-" + name.replace("_", "-")
        assert f"(ini: drillbook_{name})" in out, f"{option} does not name its ini option in --help"
        assert f"drillbook_{name} (" in out, f"no ini option drillbook_{name} in --help"
        assert f"(command line: {option}, which wins)" in out


def _shard_of(pytester: pytest.Pytester, *args: str) -> list[str]:
    _drill(pytester, GOOD + GOOD.split("\n", 1)[1].replace("RB-007 after", "RB-007 again after"))
    result = _collect(pytester, *args)
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    return [line for line in result.stdout.lines if "::" in line]


def test_an_ini_option_sets_a_setting_and_the_command_line_wins(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ndrillbook_shard = 2/2\n")
    by_ini = _shard_of(pytester)
    assert [line.rsplit("::", 1)[1] for line in by_ini] == ["test_rb007_again_after_a_pod_kill"]
    by_command_line = _shard_of(pytester, "--drillbook-shard=1/2")
    assert [line.rsplit("::", 1)[1] for line in by_command_line] == ["test_rb007_after_a_pod_kill"]


def test_a_bad_ini_platform_is_a_usage_error_naming_the_choices(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ndrillbook_platform = cloud\n")
    result = _collect(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*drillbook_platform = 'cloud' is not one of: local, *"])


def test_ini_feature_files_select_drills_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", pods=GOOD, other=GOOD.replace("RB-007", "RB-003"))
    pytester.makepyfile(test_drills=TEST_MODULE)
    pytester.makeini("[pytest]\ndrillbook_feature =\n    pods.feature\n")
    result = _collect(pytester)
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    result.stdout.fnmatch_lines(["*1/2 tests collected (1 deselected)*"])


INTERRUPTED = """\
Feature: interrupted
  Scenario: a drill stopped while its traffic starts
    Given the "azora" system is running on the local platform
    And steady traffic of 5 users
    When the "pod-kill" fault is injected
    Then the SLOs of incident "RB-007" are breached within 30 seconds
"""

FAKE_SANDBOX = """\
import pytest

from drillbook.journal import Platform, ToolVersions

CLOSED = []


class FakeSandbox:
    platform = Platform.LOCAL
    platform_label = "fake sandbox"
    app_url = "http://127.0.0.1:9"

    def versions(self):
        return ToolVersions()

    def start_traffic(self, users, on_record):
        raise KeyboardInterrupt  # Ctrl-C while the drill waits for its traffic

    def close(self):
        CLOSED.append(True)


@pytest.fixture
def drillbook_sandbox_factory():
    return lambda system: FakeSandbox()


def pytest_unconfigure(config):
    (config.rootpath / "closed").write_text(str(len(CLOSED)))
"""


def test_ctrl_c_during_a_drill_tears_it_down_and_reports_it_interrupted_without_a_traceback(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("drillbook.gherkin.warmup.warm_up", lambda url, paths: 0)
    _drill(pytester, INTERRUPTED)
    pytester.makeconftest(FAKE_SANDBOX)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        f"--drillbook-scenarios={SCENARIOS}",
        "--drillbook-run-id=run",
        no_reraise_ctrlc=True,
    )
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 130, output
    assert "UnboundLocalError" not in output
    assert "judgement" not in output
    assert (pytester.path / "closed").read_text() == "1", "the sandbox was not closed"
    run_dir = pytester.path / "reports" / "run"
    events = [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[-2:] == ["drill_finished", "run_finished"], kinds
    assert "verdict" not in kinds
    assert "interrupted by Ctrl-C: no verdict; the fault was reverted" in [
        e["message"] for e in events if e["type"] == "note"
    ]
    assert "interrupted" in (run_dir / "summary.md").read_text()
