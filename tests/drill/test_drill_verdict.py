"""The verdict rules as tables: one row per rule for a command's findings, one per rule for the drill's verdict."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drillbook.drill.verdict import (
    PYTEST_OUTCOME,
    CommandResult,
    Control,
    Observations,
    assess,
    is_action,
    judge,
    outcome_for_pytest,
)
from drillbook.journal import Decision, FindingKind, Verdict, Whose

DIAG = CommandResult(step=1, title="Look", as_written="kubectl get pods -n app", effect="read-only")
ACT = CommandResult(step=2, title="Fix", as_written="kubectl rollout undo deployment/api -n app", effect="mutating")

# (row id, command, fault, expected finding kinds, whose of the first, unrehearsed? (None / decisive flag), fails)
COMMAND_RULES: list[tuple[str, CommandResult, str, list[FindingKind], Whose | None, bool | None, bool]] = [
    ("a diagnostic that works is nothing", DIAG, "", [], None, None, False),
    ("an action that works is nothing", ACT, "", [], None, None, False),
    (
        "prose is a prose-only finding and unrehearsed, not decisive",
        replace(ACT, decision=Decision.MANUAL, effect="manual", exit_code=None),
        "", [FindingKind.PROSE_ONLY], Whose.RUNBOOK, False, False,
    ),
    (
        "a captured notification is unrehearsed, not a finding",
        replace(DIAG, decision=Decision.CAPTURED, effect="notification", exit_code=None),
        "", [], None, False, False,
    ),
    (
        "an unfilled placeholder is the runbook's",
        replace(ACT, decision=Decision.BLOCKED, exit_code=None, unresolved=("<POD>",), reason="<POD>: not bound"),
        "", [FindingKind.UNRESOLVED_PLACEHOLDER], Whose.RUNBOOK, True, False,
    ),
    (
        "a diagnostic's placeholder is not decisive",
        replace(DIAG, decision=Decision.BLOCKED, exit_code=None, reason="<DB_HOST>: not bound to anything"),
        "", [FindingKind.UNRESOLVED_PLACEHOLDER], Whose.RUNBOOK, False, False,
    ),
    (
        "a policy block is the sandbox's, decisive for an action",
        replace(ACT, decision=Decision.BLOCKED, exit_code=None, reason="docker acts on the host's containers"),
        "", [FindingKind.BLOCKED_BY_POLICY], Whose.SANDBOX, True, False,
    ),
    (
        "a missing tool on an action is decisive and the sandbox's",
        replace(ACT, as_written="helm rollback azora-prod 1", decision=Decision.MISSING_TOOL, exit_code=None,
                reason="helm is not installed on this machine"),
        "", [FindingKind.MISSING_TOOL], Whose.SANDBOX, True, False,
    ),
    (
        "a missing tool on a diagnostic is not decisive",
        replace(DIAG, decision=Decision.MISSING_TOOL, exit_code=None, reason="iostat is not installed"),
        "", [FindingKind.MISSING_TOOL], Whose.SANDBOX, False, False,
    ),
    (
        "a time filter older than the fault is not rehearsable",
        replace(ACT, as_written="psql -c \"SELECT pg_terminate_backend(pid) WHERE query_start < now() - "
                "interval '10 minutes'\"", output="(0 rows)", changed_nothing=True, fault_age_s=3.0),
        "", [FindingKind.NOT_REHEARSABLE], Whose.SANDBOX, True, False,
    ),
    (
        "a time filter on a command that failed is judged as the failure",
        replace(ACT, as_written="psql -c \"… query_start < now() - interval '10 minutes'\"", fault_age_s=3.0,
                exit_code=2, output="FATAL:  sorry, too many clients already"),
        "", [FindingKind.INVALID_ACTION], Whose.RUNBOOK, None, True,
    ),
    (
        "a time filter the fault is old enough for is judged as usual",
        replace(ACT, as_written="psql -c \"… query_start < now() - interval '10 seconds'\"", fault_age_s=30.0),
        "", [], None, None, False,
    ),
    (
        "a failing action is an invalid action and fails",
        replace(ACT, exit_code=1, output='The Deployment "api" is invalid: Unsupported value: "OnFailure"'),
        "", [FindingKind.INVALID_ACTION], Whose.RUNBOOK, None, True,
    ),
    (
        "a failing optional action is a finding only",
        replace(ACT, exit_code=1, output="error: boom", optional=True),
        "", [FindingKind.INVALID_ACTION], Whose.RUNBOOK, None, False,
    ),
    (
        "a failing supplied command is the drill's",
        replace(ACT, exit_code=1, output="error: boom", supplied=True),
        "", [FindingKind.INVALID_ACTION], Whose.DRILL, None, True,
    ),
    (
        "a diagnostic that shows rot is stale, never a failure",
        replace(DIAG, exit_code=1, output='ERROR:  column "mean_time" does not exist'),
        "", [FindingKind.STALE_COMMAND], Whose.RUNBOOK, None, False,
    ),
    (
        "a diagnostic that reports the outage is doing its job",
        replace(DIAG, exit_code=2, output="psql: error: FATAL:  sorry, too many clients already"),
        "", [], None, None, False,
    ),
    (
        "logs --previous before the first crash is timing, not rot",
        replace(DIAG, exit_code=1, output='previous terminated container "app" in pod "x" not found'),
        "", [], None, None, False,
    ),
    (
        "an unknown effect is judged as a diagnostic",
        replace(DIAG, effect="unknown", exit_code=1, output="Error from server (NotFound): pods \"x\" not found"),
        "", [FindingKind.STALE_COMMAND], Whose.RUNBOOK, None, False,
    ),
    (
        "an action that changed nothing has no effect",
        replace(ACT, output="deployment.apps/api unchanged", changed_nothing=True),
        "", [FindingKind.NO_EFFECT], Whose.RUNBOOK, None, False,
    ),
    (
        "CREATE INDEX without CONCURRENTLY is harmful",
        replace(ACT, as_written="CREATE INDEX idx_users_email ON users(email);"),
        "", [FindingKind.HARMFUL], Whose.RUNBOOK, None, False,
    ),
    (
        "CREATE INDEX CONCURRENTLY is fine",
        replace(ACT, as_written="CREATE INDEX CONCURRENTLY IF NOT EXISTS idx ON users(email);"),
        "", [], None, None, False,
    ),
    (
        "growing the pool during pool exhaustion is harmful",
        replace(ACT, as_written="kubectl set env deployment/api DATABASE_POOL_SIZE=50"),
        "pool-exhaustion", [FindingKind.HARMFUL], Whose.RUNBOOK, None, False,
    ),
    (
        "growing the pool during another fault is not flagged",
        replace(ACT, as_written="kubectl set env deployment/api DATABASE_POOL_SIZE=50"),
        "load-spike", [], None, None, False,
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "fault", "kinds", "whose", "unrehearsed", "fails"),
    [row[1:] for row in COMMAND_RULES],
    ids=[row[0] for row in COMMAND_RULES],
)
def test_each_command_rule(  # noqa: PLR0917 - one parameter per table column
    command: CommandResult,
    fault: str,
    kinds: list[FindingKind],
    whose: Whose | None,
    unrehearsed: bool | None,
    fails: bool,
) -> None:
    assessment = assess(command, fault=fault)
    assert [f.kind for f in assessment.findings] == kinds
    if whose is not None:
        assert assessment.findings[0].whose is whose
    for finding in assessment.findings:
        assert finding.step == command.step
        assert finding.command == command.as_written
        assert finding.message.split(":")[0] in ("Runbook", "Sandbox", "Drill")  # says whose problem it is
    assert (assessment.unrehearsed.decisive if assessment.unrehearsed else None) is unrehearsed
    assert assessment.fails is fails


def _seen(**overrides: object) -> Observations:
    base = Observations(
        target_s=900.0,
        breached=True,
        restored=True,
        time_to_restore_s=42.0,
        projected_mttr_s=400.0,
        restore_deadline_s=45.0,
        breach_wait_s=30.0,
        commands=(DIAG, ACT),
        attribution="step 2 (Fix)",
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


STALE = replace(DIAG, exit_code=1, output='ERROR:  column "mean_time" does not exist')
HELM = replace(
    ACT, as_written="helm rollback x 1", decision=Decision.MISSING_TOOL, exit_code=None, reason="helm is not installed"
)
INVALID = replace(ACT, exit_code=1, output="error: Unsupported value: OnFailure")
PROSE = replace(ACT, decision=Decision.MANUAL, effect="manual", exit_code=None)

# (row id, observations, verdict, fragment of the reason, outcome)
DRILL_RULES: list[tuple[str, Observations, Verdict, str, str]] = [
    ("a sandbox error wins over everything",
     _seen(sandbox_error="localkube did not start", baseline_held=False, breached=False),
     Verdict.ERROR, "localkube did not start", "not judged"),
    ("a fault this platform cannot apply is inconclusive, never the runbook's failure",
     _seen(fault_not_on_platform="Redis is a container outside the cluster", breached=False, restored=False),
     Verdict.INCONCLUSIVE, "not rehearsed on this platform: Redis is a container", "not judged"),
    ("a baseline that never held is invalid",
     _seen(baseline_held=False, baseline_detail="error rate 12% > 1%"), Verdict.INVALID, "error rate 12% > 1%",
     "not judged"),
    ("no breach is vacuous", _seen(breached=False, restored=False), Verdict.VACUOUS, "never breached", "not judged"),
    ("a weak breach is vacuous", _seen(weak_breach="worst window 1.27x"), Verdict.VACUOUS, "only weakly",
     "not judged"),
    ("a control that healed by itself is vacuous (self-healing)",
     _seen(control=Control(self_healed=True, window_s=12.0, restored_after_s=4.0)), Verdict.VACUOUS,
     "self-healing", "restored without the runbook"),
    ("a control that did not heal lets the runbook be judged",
     _seen(control=Control(self_healed=False, window_s=12.0)), Verdict.PASSED, "Restored by step 2", "restored"),
    ("a failing action fails, also when the SLOs came back", _seen(commands=(DIAG, INVALID)), Verdict.FAILED,
     "step 2 failed: step 2 (Fix) exited 1", "restored"),
    ("a failing action with an unrehearsable next step fails and says what was not rehearsed",
     _seen(commands=(INVALID, replace(HELM, step=3)), restored=False), Verdict.FAILED,
     "Not rehearsed: step 3 (missing tool: helm is not installed)", "not restored"),
    ("restored with no runbook action is vacuous", _seen(commands=(DIAG, PROSE)), Verdict.VACUOUS,
     "none of the runbook's actions ran", "restored without the runbook"),
    # The restore came from the drill's command for a prose-only step: service is back, the runbook must say how.
    ("restored with a supplied command passes with findings",
     _seen(commands=(DIAG, replace(ACT, supplied=True, effect="?"))),
     Verdict.PASSED_WITH_FINDINGS, "Prose only: step 2", "restored"),
    ("restored over the target fails", _seen(projected_mttr_s=1500.0), Verdict.FAILED, "25.0 min exceeds",
     "restored late"),
    ("restored with a stale diagnostic passes with findings", _seen(commands=(STALE, ACT)),
     Verdict.PASSED_WITH_FINDINGS, "Runbook findings: stale-command in step 1", "restored"),
    ("restored while a leak is still deployed passes and says the restore may not last",
     _seen(fault_remains="the memory-leak fault is still deployed"), Verdict.PASSED,
     "Not rehearsed: whether the restore lasts: the memory-leak fault is still deployed", "restored"),
    ("restored with only sandbox findings passes", _seen(commands=(DIAG, ACT, replace(HELM, step=3))),
     Verdict.PASSED, "Not rehearsed: step 3", "restored"),
    ("restored with prose alongside passes and lists it", _seen(commands=(DIAG, ACT, replace(PROSE, step=3))),
     Verdict.PASSED, "Prose only: step 3", "restored"),
    ("a response SLA is not a resolution target",
     _seen(target_s=None, target_note="the runbook states only a response SLA (1 hour), not a resolution target"),
     Verdict.PASSED, "only a response SLA", "restored"),
    ("not restored with a decisive unrehearsed action is inconclusive",
     _seen(commands=(DIAG, ACT, replace(HELM, step=3)), restored=False), Verdict.INCONCLUSIVE,
     "step 3 (Fix): missing tool", "not observed"),
    ("not restored with only diagnostics and prose is not attempted", _seen(commands=(DIAG, PROSE), restored=False),
     Verdict.FAILED, "not attempted", "not attempted"),
    ("not restored after a stale diagnostic still says not restored", _seen(commands=(STALE,), restored=False),
     Verdict.FAILED, "not attempted", "not attempted"),
    ("back and still holding when the watch ended is inconclusive, not failed",
     _seen(restored=False, not_held="back for 4.0 s"), Verdict.INCONCLUSIVE,
     "told from a quiet gap of the fault (back for 4.0 s)", "not observed"),
    ("not restored on a machine out of CPU is inconclusive",
     _seen(restored=False, host_saturated="the machine's 2 cores were 97% busy"), Verdict.INCONCLUSIVE,
     "out of CPU (the machine's 2 cores were 97% busy): the sandbox, not the system", "not observed"),
    ("a machine out of CPU never excuses a runbook with no remedy",
     _seen(restored=False, commands=(DIAG,), host_saturated="97% busy"), Verdict.FAILED, "not attempted",
     "not attempted"),
    ("a machine out of CPU never excuses a failing action",
     _seen(restored=False, commands=(DIAG, INVALID), host_saturated="97% busy"), Verdict.FAILED,
     "exited 1", "not restored"),
    ("not restored after the actions ran fails", _seen(restored=False), Verdict.FAILED,
     "not restored within 45 s", "not restored"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("seen", "verdict", "fragment", "outcome"), [row[1:] for row in DRILL_RULES], ids=[row[0] for row in DRILL_RULES]
)
def test_each_drill_rule(seen: Observations, verdict: Verdict, fragment: str, outcome: str) -> None:
    judgement = judge(seen)
    assert judgement.verdict is verdict, judgement.reason
    assert fragment in judgement.reason
    assert judgement.outcome == outcome


def test_every_verdict_has_a_rule_row() -> None:
    assert {row[2] for row in DRILL_RULES} == set(Verdict)


def test_every_finding_kind_has_a_rule_row() -> None:
    # The alert kinds are about the incident's alerts, not one command: tests/drill/test_drill_alerts.py has them.
    alerts = {FindingKind.ALERT_NOT_FIRED, FindingKind.ALERT_NO_DATA, FindingKind.ALERT_UNCHECKED}
    assert {kind for row in COMMAND_RULES for kind in row[3]} | alerts == set(FindingKind)


def test_every_finding_is_listed_in_the_reason_never_and_n_more() -> None:
    stale = [replace(STALE, step=n) for n in (1, 3, 6)]
    judgement = judge(_seen(commands=(*stale, ACT)))
    assert "steps 1, 3 and 6" in judgement.reason
    assert "more)" not in judgement.reason
    assert len(judgement.findings) == 3


@pytest.mark.parametrize(
    ("output", "hint"),
    [
        ('ERROR:  column "mean_time" does not exist', "renamed pg_stat_statements.mean_time to mean_exec_time"),
        ('Error from server (NotFound): pods "x" not found in namespace "default"', "add -n <namespace>"),
    ],
)
def test_a_stale_command_says_what_to_do_when_the_rot_is_well_known(output: str, hint: str) -> None:
    (finding,) = assess(replace(DIAG, exit_code=1, output=output)).findings
    assert hint in finding.message


def test_a_finding_from_attribution_is_kept_once() -> None:
    unchanged = replace(ACT, changed_nothing=True, output="deployment.apps/api unchanged")
    no_effect = assess(unchanged).findings[0]
    judgement = judge(_seen(commands=(DIAG, unchanged, replace(ACT, step=3)), no_effect=(no_effect,)))
    assert [f.kind for f in judgement.findings] == [FindingKind.NO_EFFECT]


@pytest.mark.parametrize(
    ("verdict", "outcome"),
    [
        (Verdict.PASSED, "pass"),
        (Verdict.PASSED_WITH_FINDINGS, "pass"),
        (Verdict.INCONCLUSIVE, "skip"),
        (Verdict.VACUOUS, "skip"),
        (Verdict.FAILED, "fail"),
        (Verdict.INVALID, "fail"),
        (Verdict.ERROR, "fail"),
    ],
)
def test_how_pytest_sees_each_verdict(verdict: Verdict, outcome: str) -> None:
    assert outcome_for_pytest(verdict) == outcome
    assert set(PYTEST_OUTCOME) == set(Verdict)


def test_a_verdict_pytest_does_not_know_yet_fails() -> None:
    assert outcome_for_pytest("interrupted") == "fail"


@pytest.mark.parametrize(
    ("effect", "command", "action"),
    [
        ("external", "curl -k https://api.example.com/health", False),
        ("external", "wget -qO- https://status.example.com/", False),
        ("external", "curl -X POST https://hooks.example.com/deploy -d '{}'", True),
        ("external", "curl --request DELETE https://api.example.com/cache", True),
        ("external", "aws rds reboot-db-instance --db-instance-identifier prod", True),
        ("mutating", "kubectl rollout undo deployment/api", True),
        ("read-only", "kubectl get pods", False),
        ("unknown", "npm run health:db", False),
    ],
)
def test_an_external_http_read_is_a_check_not_an_action(effect: str, command: str, action: bool) -> None:
    assert is_action(effect, command) is action
