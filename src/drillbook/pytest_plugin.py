"""drillbook's pytest plugin: options, the run's journal and reports, the drill fixture and the step library.

Loaded in every pytest session of an environment where drillbook is installed. It touches only drillbook's own
scenarios, the drills: a scenario is one when one of its sentences is a drillbook step. Each drill is compiled once
at collection into a :class:`~drillbook.gherkin.plan.DrillPlan` and checked (names, fault parameters, runbook
steps: ``gherkin/collect.py``); every other test and every other library's scenario is left as it was collected.
Nothing is written (no run directory, no journal) until a drill actually runs.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drillbook.errors import DrillbookError
from drillbook.gherkin.collect import PLAN_KEY
from drillbook.gherkin.options import add_options, setting
from drillbook.gherkin.run import RUN_KEY, RunContext
from drillbook.journal import Platform

pytest_plugins = (
    "drillbook.gherkin.steps",
    "drillbook.gherkin.collect",
    "drillbook.gherkin.sharding",
    "drillbook.gherkin.jobs",
)
_ERROR = pytest.StashKey[BaseException]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """drillbook's options: each setting on the command line and in the ini file (the command line wins)."""
    add_options(parser)
    parser.addini(
        "drillbook_control",
        "do-nothing control run per (system, fault): off, once (cached for the run, default) or always",
        default="once",
    )
    parser.addini("drillbook_control_window", "seconds the control run watches with no response", default="12")
    from drillbook.drill.spec import INI_SETTINGS

    for key, (_, help_text) in INI_SETTINGS.items():
        parser.addini(key, help_text, default="")


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
        _Interrupts.received = 0  # the next session in this process (pytester) starts uninterrupted

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
    config.stash[RUN_KEY] = RunContext(
        reports_root=(root / str(setting(config, "--drillbook-reports"))).resolve(),
        platform=Platform(setting(config, "--drillbook-platform") or Platform.LOCAL.value),
        scenarios_dir=_scenarios_dir(config),
        argv=list(sys.argv),
        run_id=setting(config, "--drillbook-run-id") or "",
    )
    config.pluginmanager.register(_Interrupts(config.stash[RUN_KEY]), "drillbook-interrupts")
    config.addinivalue_line("filterwarnings", "ignore:record_xml_attribute is an experimental feature")


def _scenarios_dir(config: pytest.Config) -> Path:
    """``--drillbook-scenarios`` (relative to where pytest runs), else the ini's (relative to the ini file), else
    ``<rootdir>/scenarios``."""
    given = config.getoption("drillbook_scenarios")
    if given is not None:
        return Path(given).resolve()
    written = setting(config, "--drillbook-scenarios")
    base = config.inipath.parent if config.inipath is not None else Path(str(config.rootpath))
    return (base / written).resolve() if written else Path(str(config.rootpath)) / "scenarios"


def pytest_bdd_step_error(request: pytest.FixtureRequest, exception: BaseException, **_: Any) -> None:
    """Remember why a drill's step failed so the drill's teardown can journal it."""
    if PLAN_KEY in request.node.stash:  # another project's scenario is none of drillbook's business
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


@pytest.fixture
def drillbook_drill(request: pytest.FixtureRequest, record_property: Any, record_xml_attribute: Any) -> Iterator[Any]:
    """The drill of this scenario: built from the plan compiled at collection, always finished."""
    from drillbook.drill.control import ControlSettings, FileControlCache
    from drillbook.drill.host import ProcStatCpu
    from drillbook.drill.session import Drill
    from drillbook.drill.spec import DrillSpec, settings_from_ini
    from drillbook.overrides import incident_for_drill
    from drillbook.report.junit import junit_properties
    from drillbook.runbook import parse_runbook
    from drillbook.slo.checks import checks_for_incident

    run = request.config.stash[RUN_KEY]
    drill_plan = request.node.stash.get(PLAN_KEY, None)
    if drill_plan is None:
        pytest.fail(
            "drillbook_drill is the fixture of drillbook's scenarios: this test is not one (no sentence of it is a "
            "drillbook step); see drillbook list --steps",
            pytrace=False,
        )
    if drill_plan.system is None or drill_plan.incident is None:
        pytest.fail(
            f'{drill_plan.where(drill_plan.line)}: a drill must name its system (Given the "x" system is running) '
            'and its incident (the SLOs of incident "ID" are breached…)',
            pytrace=False,
        )
    system, scenario_dir = drill_plan.system.value, run.scenarios_dir / drill_plan.system.value
    journal = run.open()
    runbook = parse_runbook(scenario_dir / "runbook.md")
    try:
        incident, overrides = incident_for_drill(runbook, drill_plan.incident.value, scenario_dir)
    except DrillbookError as exc:
        pytest.fail(f"drillbook: {exc}", pytrace=False)
    slos = tuple(s.value for s in drill_plan.slos)
    plan = _plan(checks_for_incident(incident, runbook), slos, scenario_dir)
    run.drills += 1
    # JUnit annotations point at the .feature, not at pytest-bdd's scenario.py
    record_xml_attribute("file", drill_plan.feature)
    record_xml_attribute("line", str(drill_plan.line))
    assert run.run_dir is not None
    control = ControlSettings.parse(
        str(request.config.getini("drillbook_control")), str(request.config.getini("drillbook_control_window"))
    )
    try:
        settings = settings_from_ini(request.config.getini)
    except DrillbookError as exc:
        pytest.fail(f"drillbook: {exc}", pytrace=False)
    drill = Drill(
        drill_id=f"{system}/{incident.id}#{run.drills}",
        spec=DrillSpec(
            system=system,
            incident_id=incident.id,
            fault=drill_plan.fault.name if drill_plan.fault else "",
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
        settings=settings,
        host=ProcStatCpu(),  # every platform drillbook brings up (local, docker, kind) runs on this machine
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
