"""drills.yaml: what a drill decides about an incident, without editing the runbook, always shown as the drill's."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.errors import ScenarioError
from drillbook.gherkin.plan import plan_from_text
from drillbook.gherkin.validate import problems
from drillbook.overrides import check_overrides, incident_for_drill, load_overrides
from drillbook.runbook import parse_runbook
from drillbook.runbook.ranges import follow_up_steps

RUNBOOK = """\
# Orders API notes

Some background about the orders service.

We have seen the database pool run dry twice this year. When it happens:

1. Check the pods:
```bash
kubectl get pods -n shop
```
2. Restart the app:
```bash
kubectl rollout restart deployment/orders -n shop
```
3. Tell the team in the channel.

## Post-Incident
1. Write the retrospective.
"""

DRILLS = """\
incidents:
  pool-exhausted:
    lines: 5-16
    title: Database pool exhausted
    time_target: 15 minutes
    follow_up_steps: [3]
    supplied:
      3: kubectl get deployment orders -n shop
"""


def _scenario(tmp_path: Path, drills: str, runbook: str = RUNBOOK) -> Path:
    (tmp_path / "runbook.md").write_text(runbook, encoding="utf-8")
    (tmp_path / "drills.yaml").write_text(drills, encoding="utf-8")
    return tmp_path


def test_no_drills_yaml_means_no_overrides(tmp_path: Path) -> None:
    assert load_overrides(tmp_path).for_incident("RB-007") is None


def test_a_line_range_reads_an_incident_the_structure_does_not_announce(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, DRILLS)
    runbook = parse_runbook(directory / "runbook.md")
    override = load_overrides(directory).for_incident("Pool Exhausted")
    assert override is not None
    incident = override.apply(runbook, None)
    assert (incident.id, incident.title) == ("pool-exhausted", "Database pool exhausted")
    commands = [c.text for s in incident.steps for c in s.commands]
    assert "kubectl rollout restart deployment/orders -n shop" in commands
    assert "Write the retrospective." not in commands, "line 16 ends the range"


def test_the_time_target_is_marked_as_the_drills_wherever_it_is_shown(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, DRILLS)
    override = load_overrides(directory).for_incident("pool-exhausted")
    assert override is not None
    incident = override.apply(parse_runbook(directory / "runbook.md"), None)
    assert incident.time_target is not None
    assert incident.time_target.seconds == 900
    assert incident.time_target.text == "15 minutes (set by the drill, drills.yaml:2)"
    notes = override.notes()
    assert "the drill reads this incident from runbook lines 5-16 (drills.yaml:2)" in notes
    assert "the drill supplies a command for step 3 (drills.yaml:2)" in notes


def test_follow_up_steps_add_to_the_prevention_and_post_incident_sections(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, DRILLS.replace("    lines: 5-16\n", "    lines: 5-19\n"))
    runbook = parse_runbook(directory / "runbook.md")
    override = load_overrides(directory).for_incident("pool-exhausted")
    assert override is not None
    incident = override.apply(runbook, None)
    by_section = follow_up_steps(runbook, incident)
    retrospective = [s.number for s in incident.steps if "retrospective" in s.prose + s.title]
    assert retrospective
    assert set(retrospective) <= by_section, "Post-Incident is follow-up with no override"
    assert override.follow_up(incident, by_section) == by_section | {3}


def test_response_steps_leave_every_other_step_out_of_the_mttr(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, DRILLS.replace("    follow_up_steps: [3]\n", "    response_steps: ['1-2']\n"))
    runbook = parse_runbook(directory / "runbook.md")
    override = load_overrides(directory).for_incident("pool-exhausted")
    assert override is not None
    incident = override.apply(runbook, None)
    assert override.response_steps == {1, 2}
    assert override.follow_up(incident, frozenset()) == {s.number for s in incident.steps} - {1, 2}


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("time_target: 15 minutes", "time_target: soon"), 5, "time_target must be a duration such as '15 minutes'"),
        (("lines: 5-16", "lines: 16-5"), 3, "lines must run from a first line (>= 1) to a later one, got 16-5"),
        (("lines: 5-16", "lines: somewhere"), 3, "lines must be a line range such as 120-188"),
        (("    title:", "    titel:"), 4, "unknown key 'titel' in incidents.pool-exhausted; allowed keys:"),
        (("follow_up_steps: [3]", "follow_up_steps: [three]"), 6, "each entry of incidents.pool-exhausted.fol"),
        (("      3: kubectl", "      step: kubectl"), 8, "each key of incidents.pool-exhausted.supplied (a step"),
    ],
)
def test_each_malformed_override_names_its_line(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    directory = _scenario(tmp_path, DRILLS.replace(*change))
    problems = check_overrides(directory / "drills.yaml")
    assert [(p.line, p.message.removeprefix("incidents.pool-exhausted.")[: len(message)]) for p in problems] == [
        (line, message)
    ]
    with pytest.raises(ScenarioError, match=rf"drills.yaml:{line}: "):
        load_overrides(directory)


def test_a_step_cannot_be_both_response_and_follow_up(tmp_path: Path) -> None:
    directory = _scenario(
        tmp_path, DRILLS.replace("follow_up_steps: [3]", "follow_up_steps: [3]\n    response_steps: [3]")
    )
    problems = check_overrides(directory / "drills.yaml")
    assert [p.message for p in problems] == [
        "incidents.pool-exhausted: steps [3] are both response_steps and follow_up_steps; keep one"
    ]


def test_a_drill_may_name_an_incident_that_only_drills_yaml_defines(tmp_path: Path) -> None:
    system = tmp_path / "orders"
    system.mkdir()
    _scenario(system, DRILLS)
    steps = [
        (3, 'Given the "orders" system is running on the local platform'),
        (4, "Given the drill supplies `kubectl get pods -n shop` for step 3"),
        (5, 'When the operator follows incident "pool-exhausted"'),
    ]
    assert problems(plan_from_text("orders.feature", steps), tmp_path) == []
    unknown = [*steps[:1], (5, 'When the operator follows incident "RB-404"')]
    found = problems(plan_from_text("orders.feature", unknown), tmp_path)
    assert [p.split(": ", 1)[0] for p in found] == ["orders.feature:5"]


def test_the_drill_rehearses_the_range_not_the_parsers_reading(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, DRILLS)
    runbook = parse_runbook(directory / "runbook.md")
    assert [i.id for i in runbook.incidents] != ["pool-exhausted"]
    incident, override = incident_for_drill(runbook, "pool-exhausted", directory)
    assert override is not None
    assert incident.id == "pool-exhausted"
    assert incident.time_target is not None
    assert incident.time_target.text.endswith("(set by the drill, drills.yaml:2)")
