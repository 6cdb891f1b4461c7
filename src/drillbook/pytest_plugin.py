"""drillbook's pytest plugin: options, the run's journal and reports, the drill fixture and the step library.

Loaded in every pytest session of an environment where drillbook is installed; it does nothing (no run
directory, no journal) until a drill actually runs.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.scenario import find_fixturedefs_for_step

from drillbook.errors import DrillbookError
from drillbook.gherkin.run import RUN_KEY, RunContext
from drillbook.journal import Platform

pytest_plugins = ("drillbook.gherkin.steps", "drillbook.gherkin.sharding", "drillbook.gherkin.jobs")

_HINTS = pytest.StashKey[list[str]]()
_FEATURE = pytest.StashKey[tuple[str, int]]()
_ERROR = pytest.StashKey[BaseException]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """drillbook's command-line options."""
    group = parser.getgroup("drillbook", "drillbook game days")
    group.addoption("--drillbook-reports", default="reports", help="where run directories go (default: reports)")
    group.addoption(
        "--drillbook-platform",
        default="local",
        choices=[p.value for p in Platform],
        help="where drills run: local (embedded, default), kind, k3s or existing",
    )
    group.addoption("--drillbook-scenarios", default=None, help="scenario directory (default: <rootdir>/scenarios)")
    group.addoption("--drillbook-run-id", default="", help="name of this run's directory (default: timestamp)")
    group.addoption(
        "--drillbook-feature",
        action="append",
        default=[],
        metavar="PATH",
        help="run only the drills of this .feature file (repeatable); drillbook gameday PATH.feature passes it",
    )
    parser.addini(
        "drillbook_control",
        "do-nothing control run per (system, fault): off, once (cached for the run, default) or always",
        default="once",
    )
    parser.addini("drillbook_control_window", "seconds the control run watches with no response", default="12")


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop(signum: int, frame: object) -> None:
    # Ctrl-C, or CI cancelling a job with SIGTERM: unwind so every fault is reverted and every process reaped.
    _Interrupts.received = _Interrupts.received or signum
    raise KeyboardInterrupt(f"interrupted by {signal.Signals(signum).name}")


class _Interrupts:
    """Ctrl-C or SIGTERM: finish every running drill (revert, teardown, verdict) before pytest exits.

    The first signal unwinds the running drill; any further one is noted and ignored, so it stops nothing
    but the waiting: the revert, the teardown and the report still happen. The run then exits 128 + the
    signal's number (130 for Ctrl-C, 143 for SIGTERM).
    """

    received: int = 0
    """The first stop signal of this process (0: none; a KeyboardInterrupt of unknown origin counts as SIGINT)."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.interrupted = False

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupted = True
        _Interrupts.received = _Interrupts.received or signal.SIGINT
        for signum in _STOP_SIGNALS:
            signal.signal(signum, _again)
        while self.run.active:
            drill = self.run.active.pop()
            try:
                drill.finish(excinfo.value)
            except Exception as exc:  # keep unwinding the others
                print(f"drillbook: could not finish {drill.drill_id}: {exc}", file=sys.stderr)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # The handlers a drill installed are this session's only: the process (pytester, an IDE) keeps its own.
        if signal.getsignal(signal.SIGINT) in (_stop, _again):
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if signal.getsignal(signal.SIGTERM) in (_stop, _again):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    @property
    def exit_code(self) -> int:
        """128 + the signal that stopped the run."""
        return 128 + int(_Interrupts.received or signal.SIGINT)


def _again(signum: int, frame: object) -> None:
    print(
        f"drillbook: {signal.Signals(signum).name} again: no longer waiting; still reverting every fault and "
        "writing the report",
        file=sys.stderr,
        flush=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    """Prepare (but do not open) this run's context."""
    root = Path(str(config.rootpath))
    scenarios = config.getoption("--drillbook-scenarios")
    config.stash[RUN_KEY] = RunContext(
        reports_root=(root / config.getoption("--drillbook-reports")).resolve(),
        platform=Platform(config.getoption("--drillbook-platform")),
        scenarios_dir=Path(scenarios).resolve() if scenarios else root / "scenarios",
        argv=list(sys.argv),
        run_id=config.getoption("--drillbook-run-id"),
    )
    config.pluginmanager.register(_Interrupts(config.stash[RUN_KEY]), "drillbook-interrupts")
    config.addinivalue_line("filterwarnings", "ignore:record_xml_attribute is an experimental feature")


@pytest.hookimpl(tryfirst=True)  # before -k deselects: the incident ids are keywords
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check every drill before anything runs: its names, its sentences, that its incident can be judged.

    Also keeps only the drills of ``--drillbook-feature`` files and makes each drill's incident id (as the
    runbook writes it, ``RB-007``) and system keywords, so ``-k RB-007`` selects that drill.
    """
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    from drillbook.gherkin.validate import problems

    run = config.stash[RUN_KEY]
    wanted = {Path(f).resolve() for f in config.getoption("--drillbook-feature")}
    found: list[str] = []
    kept: list[pytest.Item] = []
    for item in items:
        template = scenario_wrapper_template_registry.get(getattr(item, "function", None))  # type: ignore[arg-type]
        if template is None:
            kept.append(item)
            continue
        if wanted and Path(template.feature.filename).resolve() not in wanted:
            continue
        kept.append(item)
        steps = [(step.line_number, step.name) for step in template.steps]
        item.stash[_HINTS] = [text for _, text in steps]
        item.stash[_FEATURE] = (_relative(template.feature.filename, config), template.line_number)
        feature = template.feature.rel_filename
        for problem in [*_unknown_steps(item, feature, template.steps), *problems(feature, steps, run.scenarios_dir)]:
            if problem not in found:
                found.append(problem)
        item.extra_keyword_matches.update(_keywords(item.stash[_HINTS], run.scenarios_dir))
    if wanted:
        deselected = [item for item in items if item not in kept]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        if not items:
            names = ", ".join(sorted(str(f) for f in wanted))
            raise pytest.UsageError(
                f"drillbook: no drill of {names} was collected: is there a test module beside it that calls "
                "pytest_bdd.scenarios(...) (as features/test_gameday.py does)?"
            )
    if found:
        raise pytest.UsageError("drillbook: these drills cannot be run as written:\n" + "\n".join(found))


def _unknown_steps(item: pytest.Item, feature: str, steps: list[Any]) -> list[str]:
    """Sentences no step definition visible to this drill matches, each with the closest known ones."""
    from drillbook.gherkin.validate import known_sentences, unknown_step_problem

    fixtures = item.session._fixturemanager
    missing = [step for step in steps if not any(find_fixturedefs_for_step(step, fixtures, item))]
    if not missing:
        return []
    known = known_sentences(_visible_sentences(fixtures, item))
    return [unknown_step_problem(feature, step, known) for step in missing]


def _visible_sentences(fixtures: Any, item: pytest.Item) -> list[str]:
    """Plain (string) step sentences this drill can see: the repository's own steps and fault phrases."""
    from pytest_bdd import parsers
    from pytest_bdd.compat import get_fixture_names, getfixturedefs
    from pytest_bdd.steps import step_function_context_registry

    found: list[str] = []
    for name in get_fixture_names(fixturemanager=fixtures):
        for fixturedef in getfixturedefs(fixtures, name, item) or []:
            context = step_function_context_registry.get(fixturedef.func)
            if context is not None and isinstance(context.parser, parsers.string):
                kind = (context.type or "given").capitalize()
                found.append(f"{kind} {context.parser.name}")
    return found


def _keywords(step_texts: list[str], scenarios_dir: Path) -> set[str]:
    """The drill's system and incident, as the feature names them and as the runbook writes the id."""
    from drillbook.gherkin.validate import hints
    from drillbook.runbook import parse_runbook

    seen = hints(step_texts)
    found = {k for k in (seen.system, seen.incident) if k}
    if seen.system and seen.incident:
        with contextlib.suppress(DrillbookError, KeyError, OSError):  # the name check reports it
            found.add(parse_runbook(scenarios_dir / seen.system / "runbook.md").incident(seen.incident).id)
    return found


def pytest_bdd_step_error(request: pytest.FixtureRequest, exception: BaseException, **_: Any) -> None:
    """Remember why a step failed so the drill's teardown can journal it."""
    request.node.stash[_ERROR] = exception


@pytest.fixture
def drillbook_sandbox_factory(request: pytest.FixtureRequest) -> Any:
    """Provision a system on the selected platform; override to provide your own."""
    from drillbook.execute.containment import check
    from drillbook.platform import sandbox_factory

    try:  # before anything is provisioned: runbook commands run contained by the OS, or not at all
        check()
    except DrillbookError as exc:
        pytest.fail(f"drillbook: {exc}", pytrace=False)
    run = request.config.stash[RUN_KEY]
    run.open()
    assert run.run_dir is not None
    return sandbox_factory(run.platform, run.scenarios_dir, run.run_dir)


def _relative(path: str, config: pytest.Config) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(str(config.rootpath)).resolve()))
    except ValueError:
        return path


@pytest.fixture
def drillbook_drill(request: pytest.FixtureRequest, record_property: Any, record_xml_attribute: Any) -> Iterator[Any]:
    """The drill of this scenario: built from the system and incident its steps name, always finished."""
    from drillbook.drill.control import ControlSettings, FileControlCache
    from drillbook.drill.session import Drill
    from drillbook.drill.spec import DrillSpec
    from drillbook.gherkin.validate import hints
    from drillbook.overrides import incident_for_drill
    from drillbook.report.junit import junit_properties
    from drillbook.runbook import parse_runbook
    from drillbook.slo.checks import checks_for_incident

    run = request.config.stash[RUN_KEY]
    seen = hints(request.node.stash.get(_HINTS, []))
    if seen.system is None or seen.incident is None:
        pytest.fail('a drill must name its system (the "x" system) and its incident (incident "ID")', pytrace=False)
    journal = run.open()
    runbook = parse_runbook(run.scenarios_dir / seen.system / "runbook.md")
    try:
        incident, overrides = incident_for_drill(runbook, seen.incident, run.scenarios_dir / seen.system)
    except DrillbookError as exc:
        pytest.fail(f"drillbook: {exc}", pytrace=False)
    plan = _plan(checks_for_incident(incident, runbook), seen.slos, run.scenarios_dir / seen.system)
    run.drills += 1
    feature = request.node.stash.get(_FEATURE, None)
    if feature is not None:  # JUnit annotations point at the .feature, not at pytest-bdd's scenario.py
        record_xml_attribute("file", feature[0])
        record_xml_attribute("line", str(feature[1]))
    assert run.run_dir is not None
    control = ControlSettings.parse(
        str(request.config.getini("drillbook_control")), str(request.config.getini("drillbook_control_window"))
    )
    drill = Drill(
        drill_id=f"{seen.system}/{incident.id}#{run.drills}",
        spec=DrillSpec(
            system=seen.system,
            incident_id=incident.id,
            fault=seen.fault,
            supplied=dict(overrides.supplied) if overrides else {},
            follow_up_steps=_follow_up(runbook, incident, overrides),
            overrides=tuple(overrides.notes()) if overrides else (),
        ),
        runbook=runbook,
        incident=incident,
        plan=plan,
        journal=journal,
        progress=_progress(request.config),
        control=control,
        control_cache=FileControlCache(run.run_dir / "control-cache.json"),
    )
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _stop)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _stop)
    drill.start()
    run.active.append(drill)
    try:
        yield drill
    finally:
        if drill in run.active:  # else the interrupt hook has finished it already
            run.active.remove(drill)
            drill.finish(request.node.stash.get(_ERROR, None))
        for verdict_event in _last_verdict(run, drill.drill_id):
            for name, value in junit_properties(verdict_event, _alerts(run, drill.drill_id)):
                record_property(name, value)


def _follow_up(runbook: Any, incident: Any, overrides: Any) -> frozenset[int]:
    """Steps never counted toward MTTR: Prevention and Post-Incident sections, and what drills.yaml adds."""
    from drillbook.runbook.ranges import follow_up_steps

    by_section = follow_up_steps(runbook, incident)
    return overrides.follow_up(incident, by_section) if overrides else by_section


def _plan(runbook_plan: Any, drill_slos: tuple[str, ...], scenario_dir: Path) -> Any:
    """What the drill measures: its own SLOs, else the runbook's, else the scenario's defaults."""
    from drillbook.scenario import load_scenario
    from drillbook.slo.checks import CheckPlan, check_from_text

    if drill_slos:
        return CheckPlan(tuple(check_from_text(t) for t in drill_slos), runbook_plan.not_measurable)
    if runbook_plan.checks:
        return runbook_plan
    defaults = load_scenario(scenario_dir).slos
    return CheckPlan(tuple(check_from_text(t) for t in defaults), runbook_plan.not_measurable)


def _last_verdict(run: RunContext, drill_id: str) -> list[Any]:
    from drillbook.journal import VerdictReached, read_journal

    if run.run_dir is None:
        return []
    verdicts = [e for e in read_journal(run.run_dir / "journal.jsonl") if isinstance(e, VerdictReached)]
    return [e for e in verdicts if e.drill == drill_id][-1:]


def _alerts(run: RunContext, drill_id: str) -> list[Any]:
    from drillbook.journal import AlertEvaluated, read_journal

    if run.run_dir is None:
        return []
    return [
        e for e in read_journal(run.run_dir / "journal.jsonl") if isinstance(e, AlertEvaluated) and e.drill == drill_id
    ]


def _progress(config: pytest.Config) -> Any:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def say(message: str) -> None:
        # Progress is for the person watching the game day: shown live, past pytest's output capture.
        if reporter is None:
            print(message, file=sys.stderr)
            return
        if capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(message)
        else:
            reporter.write_line(message)

    return say


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Close the run's journal and write its reports: last, after every fixture's teardown, so no drill event
    follows ``run_finished``. An interrupted run exits 130 (Ctrl-C) or 143 (SIGTERM)."""
    run = session.config.stash.get(RUN_KEY, None)
    if run is None:
        return
    interrupts = session.config.pluginmanager.get_plugin("drillbook-interrupts")
    if isinstance(interrupts, _Interrupts) and interrupts.interrupted:
        session.exitstatus = interrupts.exit_code
    try:
        run_dir = run.close()
    except DrillbookError as exc:
        session.config.stash[RUN_KEY].run_dir = None
        print(f"drillbook: the reports could not be written: {exc}", file=sys.stderr)
        return
    if run_dir is not None:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "drillbook")
            reporter.write_line(f"reports: {run_dir / 'index.html'}")
            reporter.write_line(f"summary: {run_dir / 'summary.md'}")
