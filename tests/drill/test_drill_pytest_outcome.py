"""How a verdict ends its pytest test: passes pass (findings too), drills that prove nothing skip, the rest fail."""

from __future__ import annotations

import pytest

from drillbook.gherkin.steps import report_verdict
from drillbook.journal import Verdict


@pytest.mark.parametrize("verdict", [Verdict.PASSED, Verdict.PASSED_WITH_FINDINGS])
def test_a_pass_with_or_without_findings_passes(verdict: Verdict) -> None:
    report_verdict(verdict, "restored")


@pytest.mark.parametrize("verdict", [Verdict.INCONCLUSIVE, Verdict.VACUOUS])
def test_a_drill_that_proves_nothing_is_skipped_with_its_reason(verdict: Verdict) -> None:
    with pytest.raises(pytest.skip.Exception, match=f"drill {verdict.value.upper()}: no helm"):
        report_verdict(verdict, "no helm")


@pytest.mark.parametrize("verdict", [Verdict.FAILED, Verdict.INVALID, Verdict.ERROR])
def test_failed_invalid_and_error_fail_without_a_traceback(verdict: Verdict) -> None:
    with pytest.raises(pytest.fail.Exception, match="step 6") as caught:
        report_verdict(verdict, "step 6 is rejected")
    assert caught.value.pytrace is False
    assert caught.value.__context__ is None  # no "During handling of the above exception" in JUnit


def test_a_step_that_raises_a_decided_outcome_fails_cleanly() -> None:
    from drillbook.drill.session import DrillOutcome
    from drillbook.drill.verdict import Judgement
    from drillbook.gherkin.steps import verdict_step

    @verdict_step
    def step() -> None:
        raise DrillOutcome(Judgement(Verdict.ERROR, "the sandbox failed"))

    with pytest.raises(pytest.fail.Exception, match="drill ERROR: the sandbox failed") as caught:
        step()
    assert caught.value.__context__ is None
