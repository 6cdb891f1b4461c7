"""Judge a drill: from what was observed to one verdict with its reason.

The order of the checks matters and is the contract: a broken sandbox says nothing about the runbook
(*error*), a baseline that never held makes every later observation meaningless (*invalid*), a fault
that never breached proves nothing (*vacuous*); only then do the runbook's own steps, recovery and
projected MTTR decide between *passed* and *failed*.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drillbook.journal import Verdict

__all__ = ["Judgement", "Observations", "StepProblem", "Verdict", "judge"]


@dataclass(frozen=True)
class StepProblem:
    """A required step that did not do its job: failed, blocked, or needs a tool this machine lacks."""

    step: int
    title: str
    command: str
    problem: str
    """What went wrong, in words: ``"exited 1: Error from server (NotFound): deployments \\"x\\" not found"``."""


@dataclass(frozen=True)
class Observations:
    """Everything the verdict depends on, gathered by the drill's phases."""

    target_s: float | None
    sandbox_error: str | None = None
    baseline_held: bool = True
    baseline_detail: str = ""
    breached: bool = False
    breach_wait_s: float = 0.0
    restored: bool = False
    restore_deadline_s: float = 0.0
    time_to_restore_s: float | None = None
    projected_mttr_s: float | None = None
    step_problems: tuple[StepProblem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Judgement:
    """A verdict and the sentence that explains it."""

    verdict: Verdict
    reason: str


def judge(seen: Observations) -> Judgement:
    """Turn observations into a verdict; the first rule that applies wins."""
    if seen.sandbox_error is not None:
        return Judgement(Verdict.ERROR, f"the sandbox failed, so nothing was proven: {seen.sandbox_error}")
    if not seen.baseline_held:
        return Judgement(
            Verdict.INVALID,
            f"the SLOs did not hold before the fault was injected ({seen.baseline_detail}); "
            "fix the scenario's baseline before trusting any verdict",
        )
    if not seen.breached:
        return Judgement(
            Verdict.VACUOUS,
            f"the fault never breached the SLOs within {seen.breach_wait_s:.0f} s, so the drill proves nothing "
            "about the runbook; make the fault stronger or the traffic heavier",
        )
    if seen.step_problems:
        first = seen.step_problems[0]
        more = f" (and {len(seen.step_problems) - 1} more)" if len(seen.step_problems) > 1 else ""
        return Judgement(Verdict.FAILED, f"step {first.step} ({first.title}) {first.problem}: `{first.command}`{more}")
    if not seen.restored:
        return Judgement(
            Verdict.FAILED,
            f"the SLOs were not restored within {seen.restore_deadline_s:.0f} s after the runbook's steps ran",
        )
    if seen.target_s is not None and seen.projected_mttr_s is not None and seen.projected_mttr_s > seen.target_s:
        return Judgement(
            Verdict.FAILED,
            f"restored, but the projected MTTR of {_minutes(seen.projected_mttr_s)} exceeds the runbook's "
            f"target of {_minutes(seen.target_s)}",
        )
    measured = f"{seen.time_to_restore_s:.0f} s" if seen.time_to_restore_s is not None else "an unknown time"
    target = f" within the target of {_minutes(seen.target_s)}" if seen.target_s is not None else ""
    projected = f"projected MTTR {_minutes(seen.projected_mttr_s)}" if seen.projected_mttr_s is not None else ""
    return Judgement(Verdict.PASSED, f"restored after {measured} in the sandbox; {projected}{target}".strip("; "))


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
