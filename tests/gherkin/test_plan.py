"""A scenario's sentences compile into one typed DrillPlan, read by the step library's own pytest-bdd parsers."""

from __future__ import annotations

from pathlib import Path

import steps.seed  # noqa: F401 - registers the seed's fault sentences

from drillbook.gherkin.plan import FaultPlan, Said, StepRef, plan_from_text
from drillbook.gherkin.validate import hints, problems

ROOT = Path(__file__).resolve().parents[2]

ZEPHYR = [
    (5, 'Given the "zephyr-voting" system is running on the local platform'),
    (6, "And steady traffic of 10 users"),
    (19, 'Given step 3 follows "Redis down"'),
    (20, "And the drill supplies `kubectl scale deployment/redis --replicas=1` for step 3"),
    (21, "And step 2 is optional"),
    (22, 'And the drill measures "error rate < 1%"'),
    (23, "When Redis goes down"),
    (24, 'Then the SLOs of incident "Incident 3" are breached within 45 seconds'),
    (25, 'When the operator follows incident "Incident 3"'),
    (26, "Then the SLOs are restored within the incident's time target"),
]


def test_a_scenario_compiles_into_its_system_incident_fault_steps_and_slos_each_with_its_line() -> None:
    plan = plan_from_text("features/zephyr_voting.feature", ZEPHYR, line=16, name="Incident 3")
    assert plan.is_drill
    assert plan.system == Said("zephyr-voting", 5)
    assert plan.platform == "local platform"
    assert plan.users == 10
    assert plan.incident == Said("Incident 3", 24)
    assert plan.incidents == (Said("Incident 3", 24), Said("Incident 3", 25))
    assert plan.fault == FaultPlan("redis-outage", 23, {"mode": "stop"}, {"mode": "stop"})
    assert plan.branches == (StepRef(3, 19, "Redis down"),)
    assert plan.supplied == (StepRef(3, 20, "kubectl scale deployment/redis --replicas=1"),)
    assert plan.optional == (StepRef(2, 21),)
    assert plan.slos == (Said("error rate < 1%", 22),)
    assert plan.breach_within_s == 45
    assert plan.follows_line == 25
    assert plan.restores
    assert plan.problems == ()
    assert problems(plan, ROOT / "scenarios") == []


def test_fault_parameters_are_typed_with_the_faults_defaults_filled_in() -> None:
    plan = plan_from_text("f.feature", [(4, 'When the "latency" fault is injected with latency_ms "1500"')])
    assert plan.fault is not None
    assert plan.fault.given == {"latency_ms": "1500"}
    assert plan.fault.params == {"latency_ms": 1500, "jitter_ms": 0, "stream": "downstream", "dependency": "postgres"}


def test_a_bad_fault_parameter_is_a_problem_at_its_line() -> None:
    plan = plan_from_text("f.feature", [(7, 'When the "pool-exhaustion" fault is injected with mode "busy"')])
    assert plan.fault is not None
    assert plan.fault.params == {}
    assert plan.problems == (
        'f.feature:7: fault "pool-exhaustion": parameter "mode" must be one of idle, active, got "busy"; it is '
        "mode (idle|active, default idle): idle holds idle connections; active runs a long query on each",
    )


def test_an_unknown_fault_is_a_problem_naming_the_closest() -> None:
    plan = plan_from_text("f.feature", [(2, 'When the "latencyy" fault is injected')])
    assert plan.problems[0].startswith("f.feature:2: unknown fault 'latencyy'; available faults: bad-release")
    assert plan.problems[0].endswith("(did you mean 'latency'?)")


def test_a_second_fault_is_a_problem() -> None:
    plan = plan_from_text("f.feature", [(2, "When Redis goes down"), (3, 'When the "pod-kill" fault is injected')])
    assert plan.problems == (
        "f.feature:3: a drill injects one fault; this one already injects 'redis-outage' (line 2)",
    )


def test_a_scenario_with_no_drillbook_sentence_is_not_a_drill() -> None:
    plan = plan_from_text("f.feature", [(3, 'Given the "billing" system is configured'), (4, "Then invoices go out")])
    assert not plan.is_drill
    assert [s.matched for s in plan.sentences] == [False, False]


def test_an_unknown_system_is_refused_with_what_exists_and_the_closest() -> None:
    plan = plan_from_text("f.feature", [(3, 'Given the "azoraa" system is running')])
    [problem] = problems(plan, ROOT / "scenarios")
    assert problem.startswith("f.feature:3: unknown system 'azoraa'; available systems in ")
    assert problem.endswith("(did you mean 'azora'?)")


def test_a_step_reference_the_incident_lacks_is_refused_with_its_steps() -> None:
    plan = plan_from_text(
        "f.feature",
        [
            (3, 'Given the "zephyr-voting" system is running'),
            (4, "Given step 9 is optional"),
            (5, 'When the operator follows incident "Incident 3"'),
        ],
    )
    assert problems(plan, ROOT / "scenarios") == [
        "f.feature:4: incident Incident-3 has no step 9; its steps are 1, 2, 3"
    ]


def test_drillbook_list_reads_the_system_and_incident_through_the_same_parsers() -> None:
    seen = hints(['the "azora" system is running on the local platform', 'the operator follows incident "RB-007"'])
    assert (seen.system, seen.incident) == ("azora", "RB-007")
