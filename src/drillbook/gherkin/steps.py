"""The Gherkin step library: what a drill can say.

```gherkin
Feature: Azora — RB-007 Database Connection Pool Exhausted
  Background:
    Given the "azora" system is running on the local platform
    And steady traffic of 20 users
  Scenario: RB-007 restores the API after the connection pool is exhausted
    When the "pool-exhaustion" fault is injected with mode "idle"
    Then the SLOs of incident "RB-007" are breached within 30 seconds
    When the operator follows incident "RB-007"
    Then the SLOs are restored within the incident's time target
```

Before the operator follows the incident, a drill may choose branches (``Given step 3 follows "Option 2"``),
supply a command for a prose-only step (``Given the drill supplies `kubectl scale deployment/redis
--replicas=1` for step 2``) and mark steps optional (``Given step 5 is optional``). Friendlier fault
sentences for one repository's drills are declared with :func:`fault_phrase`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import pytest
from pytest_bdd import given, parsers, then, when

from drillbook.drill.session import Drill, DrillOutcome
from drillbook.drill.verdict import outcome_for_pytest
from drillbook.gherkin.plan import clause, parse_params
from drillbook.journal import Verdict

P = ParamSpec("P")
R = TypeVar("R")

FAULT_PHRASES: dict[str, tuple[str, dict[str, str]]] = {}
"""Sentence → (fault name, parameters), for the docs (``drillbook list --steps``)."""

__all__ = ["FAULT_PHRASES", "fault_phrase", "iter_step_patterns", "parse_params", "report_verdict", "verdict_step"]


def verdict_step(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a decided drill outcome into a clean test outcome: the verdict and its reason, no traceback.

    How each verdict reaches pytest is ``drillbook.drill.verdict.PYTEST_OUTCOME``: a pass with findings passes,
    inconclusive and vacuous are skipped with their reason, failed, invalid and error fail.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        __tracebackhide__ = True
        try:
            return func(*args, **kwargs)
        except DrillOutcome as exc:
            judgement = exc.judgement
        # Outside the except block, so the report carries no "During handling of the above exception" chain.
        report_verdict(judgement.verdict, judgement.reason)
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


def report_verdict(verdict: Verdict, reason: str) -> None:
    """End the test as the verdict says: return for a pass, else skip or fail with the verdict and reason."""
    __tracebackhide__ = True
    outcome = outcome_for_pytest(verdict)
    if outcome == "pass":
        return
    message = f"drill {verdict.value.upper().replace('_', ' ')}: {reason}"
    if outcome == "skip":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@given(parsers.re(r'the "(?P<system>[^"]+)" system is running(?: on the (?P<where>[\w -]+))?'))
@clause("system")
@verdict_step
def system_is_running(drillbook_drill: Drill, drillbook_sandbox_factory: Any, system: str) -> None:
    """Provision the system (its scenario directory names it)."""
    drillbook_drill.provision(drillbook_sandbox_factory)


@given(parsers.re(r"steady traffic of (?P<users>\d+) users?"), converters={"users": int})
@clause("traffic")
@verdict_step
def steady_traffic(drillbook_drill: Drill, users: int, request: pytest.FixtureRequest) -> None:
    """Warm the app with the scenario's own read requests, then start user traffic that feeds the SLO monitor."""
    _warm_up(drillbook_drill, request)
    drillbook_drill.start_traffic(users)


def _warm_up(drill: Drill, request: pytest.FixtureRequest) -> None:
    from drillbook.errors import DrillbookError
    from drillbook.gherkin.run import RUN_KEY
    from drillbook.gherkin.warmup import warm_up
    from drillbook.scenario import load_scenario

    if drill.state.sandbox is None:
        return  # provisioning failed: the drill is decided already
    try:
        scenario = load_scenario(request.config.stash[RUN_KEY].scenarios_dir / drill.spec.system)
    except DrillbookError:
        return  # provisioning read it: a scenario that cannot be read now is not the warm-up's to report
    warm_up(drill.state.sandbox.app_url, [e.path for e in scenario.traffic if e.method == "GET"])


@given(parsers.re(r'the drill measures "(?P<slo>[^"]+)"'))
@clause("measures")
def drill_measures(drillbook_drill: Drill, slo: str) -> None:
    """An SLO the drill states itself; read from the drill's plan before the drill starts (see the plugin)."""


@given(parsers.re(r'step (?P<number>\d+) follows "(?P<branch>[^"]+)"'), converters={"number": int})
@clause("branch")
def choose_branch(drillbook_drill: Drill, number: int, branch: str) -> None:
    """Follow a named branch ("Option 2") of a step instead of the first."""
    drillbook_drill.spec.branches[number] = branch


@given(parsers.re(r"the drill supplies `(?P<command>[^`]+)` for step (?P<number>\d+)"), converters={"number": int})
@clause("supplies")
def supply_command(drillbook_drill: Drill, command: str, number: int) -> None:
    """Give a prose-only step a command; the report marks it as supplied by the drill, not the runbook."""
    drillbook_drill.spec.supplied[number] = command


@given(parsers.re(r"step (?P<number>\d+) is optional"), converters={"number": int})
@clause("optional")
def optional_step(drillbook_drill: Drill, number: int) -> None:
    """A step whose failure is shown but does not fail the drill."""
    drillbook_drill.spec.optional_steps.add(number)


@when(parsers.re(r'the "(?P<fault>[\w-]+)" fault is injected(?: with (?P<params>.+))?'))
@clause("fault")
@verdict_step
def inject_fault(drillbook_drill: Drill, fault: str, params: str | None) -> None:
    """Inject a registered fault with optional parameters (``mode "idle", variable "X"``)."""
    drillbook_drill.inject(fault, parse_params(params or ""))


def fault_phrase(sentence: str, fault: str, **params: str) -> None:
    """Declare a plain-language ``When`` sentence that injects ``fault`` with ``params``.

    Call it at module level in a step module (``steps/*.py``); the step lands in that module.
    """
    FAULT_PHRASES[sentence] = (fault, dict(params))

    @clause("fault", fault=fault, param_values=dict(params))
    @verdict_step
    def _inject(drillbook_drill: Drill) -> None:
        drillbook_drill.inject(fault, dict(params))

    _inject.__doc__ = f"Inject {fault} {params or ''}".strip()
    when(sentence, stacklevel=2)(_inject)


@then(
    parsers.re(r'the SLOs(?: of incident "(?P<incident>[^"]+)")? are breached within (?P<seconds>\d+) seconds?'),
    converters={"seconds": int},
)
@clause("breach")
@verdict_step
def slos_breached(drillbook_drill: Drill, seconds: int, incident: str | None) -> None:
    """The fault must breach the SLOs within the time, or the drill is vacuous."""
    drillbook_drill.await_breach(float(seconds))


@when(parsers.re(r'the operator follows incident "(?P<incident>[^"]+)"'))
@clause("follows")
@verdict_step
def operator_follows(drillbook_drill: Drill, incident: str) -> None:
    """Run the incident's steps verbatim, in order."""
    drillbook_drill.respond()


@then(parsers.re(r"the SLOs are restored(?: within the incident's time target)?"))
@clause("restored")
@verdict_step
def slos_restored(drillbook_drill: Drill) -> None:
    """Watch recovery to the deadline (or until restored and held); then the verdict is reached."""
    drillbook_drill.await_restore()
    judgement = drillbook_drill.conclude()
    report_verdict(judgement.verdict, judgement.reason)


def iter_step_patterns() -> Iterator[str]:
    """Every sentence this library understands, for ``drillbook steps`` and docs."""
    yield 'Given the "<system>" system is running on the local platform'
    yield "Given steady traffic of <N> users"
    yield 'Given the drill measures "<SLO sentence>"'
    yield 'Given step <N> follows "<branch label>"'
    yield "Given the drill supplies `<command>` for step <N>"
    yield "Given step <N> is optional"
    yield 'When the "<fault>" fault is injected [with <key> "<value>", …]'
    yield 'Then the SLOs [of incident "<id>"] are breached within <N> seconds'
    yield 'When the operator follows incident "<id>"'
    yield "Then the SLOs are restored within the incident's time target"
    yield from FAULT_PHRASES
