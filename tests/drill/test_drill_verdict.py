"""The verdict rules, in the order that makes a verdict trustworthy."""

from __future__ import annotations

from drillbook.drill.verdict import Observations, StepProblem, Verdict, judge


def _good(**overrides: object) -> Observations:
    base: dict[str, object] = {
        "target_s": 900.0,
        "breached": True,
        "restored": True,
        "time_to_restore_s": 42.0,
        "projected_mttr_s": 400.0,
        "restore_deadline_s": 300.0,
        "breach_wait_s": 30.0,
    }
    base.update(overrides)
    return Observations(**base)  # type: ignore[arg-type]


def test_a_restored_drill_within_target_passes_and_says_how_long_it_took() -> None:
    judgement = judge(_good())
    assert judgement.verdict is Verdict.PASSED
    assert "42 s" in judgement.reason
    assert "15.0 min" in judgement.reason


def test_a_sandbox_error_wins_over_everything_else() -> None:
    judgement = judge(_good(sandbox_error="localkube did not start", baseline_held=False, breached=False))
    assert judgement.verdict is Verdict.ERROR
    assert "localkube did not start" in judgement.reason


def test_a_baseline_that_never_held_makes_the_drill_invalid() -> None:
    judgement = judge(_good(baseline_held=False, baseline_detail="error rate 12% > 1%"))
    assert judgement.verdict is Verdict.INVALID
    assert "error rate 12% > 1%" in judgement.reason


def test_a_fault_that_never_breached_is_vacuous_and_says_so() -> None:
    judgement = judge(_good(breached=False))
    assert judgement.verdict is Verdict.VACUOUS
    assert "proves nothing" in judgement.reason


def test_a_failed_step_fails_the_drill_naming_the_step_and_command() -> None:
    problem = StepProblem(3, "Restart pods", "kubectl rollout restart deployment/api", "exited 1: not found")
    judgement = judge(_good(step_problems=(problem,)))
    assert judgement.verdict is Verdict.FAILED
    assert "step 3 (Restart pods) exited 1: not found" in judgement.reason
    assert "kubectl rollout restart deployment/api" in judgement.reason


def test_not_restored_fails_the_drill() -> None:
    judgement = judge(_good(restored=False))
    assert judgement.verdict is Verdict.FAILED
    assert "not restored within 300 s" in judgement.reason


def test_a_projection_over_target_fails_even_when_the_sandbox_restored() -> None:
    judgement = judge(_good(projected_mttr_s=1500.0))
    assert judgement.verdict is Verdict.FAILED
    assert "25.0 min exceeds" in judgement.reason
