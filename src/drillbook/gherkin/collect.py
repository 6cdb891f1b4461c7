"""Collection: each drill compiled into its :class:`~drillbook.gherkin.plan.DrillPlan` and checked before anything
runs; everything that is not a drill is left as it was collected.

A pytest-bdd scenario is a drill when one of its sentences resolves to a drillbook step: the step definitions are
found and their arguments parsed with pytest-bdd's own functions, as the scenario will run them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.scenario import find_fixturedefs_for_step

from drillbook.errors import DrillbookError
from drillbook.gherkin.options import settings
from drillbook.gherkin.plan import DrillPlan, Sentence, clause_of, compile_plan
from drillbook.gherkin.run import RUN_KEY

PLAN_KEY = pytest.StashKey[DrillPlan]()
"""The drill's plan, on each drill's item (only drills carry one)."""


def _wanted_features(config: pytest.Config) -> set[Path]:
    """``--drillbook-feature`` files (relative to where pytest runs), else the ini's (relative to the ini file)."""
    if config.getoption("drillbook_feature"):
        return {Path(f).resolve() for f in settings(config, "--drillbook-feature")}
    base = config.inipath.parent if config.inipath is not None else Path(str(config.rootpath))
    return {(base / f).resolve() for f in settings(config, "--drillbook-feature")}


@pytest.hookimpl(tryfirst=True)  # before -k deselects: the incident ids are keywords
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Compile every drill into its plan and check it before anything runs: its names, its sentences, its fault's
    parameters, that its incident can be judged.

    Also keeps only the drills of ``--drillbook-feature`` files and makes each drill's incident id (as the
    runbook writes it, ``RB-007``) and system keywords, so ``-k RB-007`` selects that drill. Items that are not
    drills (plain tests, other libraries' scenarios) are left alone.
    """
    from drillbook.gherkin.validate import problems

    run = config.stash[RUN_KEY]
    wanted = _wanted_features(config)
    found: list[str] = []
    kept: list[pytest.Item] = []
    drills = 0
    for item in items:
        compiled = _compile(item, config)
        if compiled is None:
            kept.append(item)
            continue
        plan, filename = compiled
        if wanted and filename.resolve() not in wanted:
            continue
        kept.append(item)
        drills += 1
        item.stash[PLAN_KEY] = plan
        for problem in [*_unknown_steps(item, plan), *problems(plan, run.scenarios_dir)]:
            if problem not in found:
                found.append(problem)
        item.extra_keyword_matches.update(_keywords(plan, run.scenarios_dir))
    if wanted:
        deselected = [item for item in items if item not in kept]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = kept
        if not drills:
            names = ", ".join(sorted(str(f) for f in wanted))
            raise pytest.UsageError(
                f"drillbook: no drill of {names} was collected: is there a test module beside it that calls "
                "pytest_bdd.scenarios(...) (as features/test_gameday.py does)?"
            )
    if found:
        raise pytest.UsageError("drillbook: these drills cannot be run as written:\n" + "\n".join(found))


def _compile(item: pytest.Item, config: pytest.Config) -> tuple[DrillPlan, Path] | None:
    """The plan of a pytest-bdd scenario that is a drill, and its feature file; ``None`` for anything else."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    template = scenario_wrapper_template_registry.get(getattr(item, "function", None))  # type: ignore[arg-type]
    if template is None:
        return None
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example", {}) if callspec is not None else {}
    scenario = template.render(example)  # an outline's steps as this example runs them
    sentences = [_sentence(step, item) for step in scenario.steps]
    feature = _relative(template.feature.filename, config)
    plan = compile_plan(feature, template.line_number, template.name, sentences)
    return (plan, Path(template.feature.filename)) if plan.is_drill else None


def _sentence(step: Any, item: pytest.Item) -> Sentence:
    """One step as pytest-bdd will run it: the step definition it resolves to and the arguments it parses."""
    from pytest_bdd.scenario import iterparentnodeids, parse_step_arguments
    from pytest_bdd.steps import step_function_context_registry

    keyword = str(step.type).capitalize()
    found = list(find_fixturedefs_for_step(step, item.session._fixturemanager, item))
    if not found:
        return Sentence(step.line_number, keyword, step.name, matched=False)
    # As pytest-bdd injects them: the most specific definition (the deepest conftest or module) is the one used.
    found.sort(key=lambda d: list(iterparentnodeids(d.baseid)))
    context = step_function_context_registry[found[-1].func]
    marked = clause_of(context.step_func)
    if marked is None:
        return Sentence(step.line_number, keyword, step.name)
    kind, implied = marked
    return Sentence(step.line_number, keyword, step.name, kind, {**parse_step_arguments(step, context), **implied})


def _unknown_steps(item: pytest.Item, plan: DrillPlan) -> list[str]:
    """Sentences no step definition visible to this drill matches, each with the closest known ones."""
    from drillbook.gherkin.validate import known_sentences, unknown_step_problem

    missing = [s for s in plan.sentences if not s.matched]
    if not missing:
        return []
    known = known_sentences(_visible_sentences(item.session._fixturemanager, item))
    return [unknown_step_problem(plan, step, known) for step in missing]


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


def _keywords(plan: DrillPlan, scenarios_dir: Path) -> set[str]:
    """The drill's system and incident, as the feature names them and as the runbook writes the id."""
    from drillbook.runbook import parse_runbook

    system = plan.system.value if plan.system else None
    incident = plan.incident.value if plan.incident else None
    found = {k for k in (system, incident) if k}
    if system and incident:
        with contextlib.suppress(DrillbookError, KeyError, OSError):  # the name check reports it
            found.add(parse_runbook(scenarios_dir / system / "runbook.md").incident(incident).id)
    return found


def _relative(path: str, config: pytest.Config) -> str:
    """A feature file as messages and JUnit name it: relative to the rootdir when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path(str(config.rootpath)).resolve()))
    except ValueError:
        return path
