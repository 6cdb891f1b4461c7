"""``drillbook list``: what a drill can name — systems, their incidents, the drills written, faults, sentences.

Everything is read from the project as it is (``scenarios/*/``, ``features/*.feature``, ``steps/*.py``), so the
answer is the one a drill's collection would give.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from drillbook.cli.parse import emit
from drillbook.errors import DrillbookError

_PARAM = re.compile(r"""self\.(?:int_)?param\(\s*["'](?P<key>\w+)["']\s*,\s*(?P<default>(?:[^()]|\([^()]*\))+?)\)""")
_SECTIONS = ("systems", "drills", "faults", "steps")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``list`` subcommand."""
    parser = subparsers.add_parser(
        "list",
        help="list systems and their incidents, drills, faults with their parameters, and step sentences",
        description="List what drills can name: the systems under SCENARIOS with each incident (id as the "
        "runbook writes it, steps, commands it can run), the drills in FEATURES, every fault with the parameters "
        "it reads, and every step sentence. With no section flag, all four.",
    )
    parser.add_argument("--scenarios", default="scenarios", help="scenario directory (default: scenarios)")
    parser.add_argument("--features", default="features", help="feature directory (default: features)")
    for section in _SECTIONS:
        parser.add_argument(f"--{section}", action="store_true", help=f"list only the {section}")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the chosen sections (all when none is chosen)."""
    chosen = [s for s in _SECTIONS if getattr(args, s)] or list(_SECTIONS)
    writers: dict[str, Callable[[], Iterator[str]]] = {
        "systems": lambda: systems(Path(args.scenarios)),
        "drills": lambda: drills(Path(args.features)),
        "faults": faults,
        "steps": lambda: sentences(Path(args.features).resolve().parent),
    }
    for index, section in enumerate(chosen):
        if index:
            emit("")
        for line in writers[section]():
            emit(line)
    return 0


def systems(scenarios: Path) -> Iterator[str]:
    """Each system with a runbook, and each incident: id, title, steps, runnable commands, time target."""
    from drillbook.gherkin.validate import available_systems
    from drillbook.runbook import Effect, parse_runbook

    names = available_systems(scenarios)
    yield f"Systems ({len(names)}, in {scenarios}/):"
    for name in names:
        path = scenarios / name / "runbook.md"
        try:
            runbook = parse_runbook(path)
        except DrillbookError as exc:
            yield f"  {name}: the runbook cannot be read: {exc}"
            continue
        incidents = [(i, "") for i in runbook.incidents] + list(_defined_by_overrides(runbook, scenarios / name))
        yield f"  {name}  ({path}, {len(incidents)} incidents)"
        for incident, where in incidents:
            runnable = sum(c.effect is not Effect.MANUAL for s in incident.steps for c in s.commands)
            target = f", target {incident.time_target.seconds / 60:g} min" if incident.time_target else ", no target"
            warn = "  <- nothing to run: drillbook lint" if not runnable else ""
            warn += f"  (defined by {where})" if where else ""
            yield (
                f"    {incident.id:<28} {incident.title[:50]!r} ({path}:{incident.line}): {len(incident.steps)} "
                f"steps, {runnable} commands{target}{warn}"
            )


def _defined_by_overrides(runbook: Any, scenario_dir: Path) -> Iterator[tuple[Any, str]]:
    """Incidents only ``drills.yaml`` defines (by their lines), with where it does."""
    from drillbook.overrides import incident_for_drill, load_overrides

    known = {i.id.casefold() for i in runbook.incidents}
    try:
        overrides = load_overrides(scenario_dir)
    except DrillbookError:
        return  # drillbook check reports it
    for override in overrides.incidents.values():
        if override.lines is not None and override.incident.casefold() not in known:
            with contextlib.suppress(DrillbookError, KeyError):
                yield incident_for_drill(runbook, override.incident, scenario_dir)[0], override.where


def drills(features: Path) -> Iterator[str]:
    """Each scenario of each feature file, with its line and the incident it follows."""
    from pytest_bdd.feature import get_feature

    from drillbook.gherkin.validate import hints

    files = sorted(features.glob("*.feature")) if features.is_dir() else []
    yield f"Drills (in {features}/; run one file: drillbook gameday FILE.feature, one incident: -k ID):"
    for file in files:
        try:
            feature = get_feature(str(file.parent), file.name)
        except Exception as exc:  # a broken feature file is listed, not fatal here
            yield f"  {file}: cannot be read: {exc}"
            continue
        for scenario in feature.scenarios.values():
            seen = hints([s.name for s in scenario.steps])
            yield f"  {file}:{scenario.line_number}  {seen.system}/{seen.incident}  {scenario.name}"


def faults() -> Iterator[str]:
    """Each registered fault: its summary and the parameters it reads, with their defaults."""
    from drillbook.faults.base import available_faults
    from drillbook.faults.params import describe_params

    found = available_faults()
    yield f'Faults ({len(found)}; When the "NAME" fault is injected with KEY "VALUE", …):'
    for name, cls in found.items():
        if cls.parameters is not None:  # the schema the drills are checked against
            params = describe_params(cls.parameters)
        else:
            params = ", ".join(f"{key}={default.strip()}" for key, default in fault_parameters(cls)) or "none"
        yield f"  {name:<18} {cls.summary}"
        yield f"  {'':<18} parameters: {params}"


def fault_parameters(cls: type) -> list[tuple[str, str]]:
    """(key, default as written) for every ``self.param``/``self.int_param`` the fault's classes read: for a
    fault that declares no parameter schema."""
    found: dict[str, str] = {}
    for klass in cls.__mro__:
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for match in _PARAM.finditer(source):
            found.setdefault(match["key"], match["default"])
    return list(found.items())


def sentences(root: Path) -> Iterator[str]:
    """Every step sentence: the library's, and the fault sentences of the project's ``steps/`` modules."""
    from drillbook.gherkin.steps import iter_step_patterns

    problems = list(_import_project_steps(root))
    yield "Step sentences:"
    for sentence in iter_step_patterns():
        yield f"  {sentence if sentence.split(' ', 1)[0] in {'Given', 'When', 'Then'} else 'When ' + sentence}"
    for problem in problems:
        yield f"  ({problem})"


def _import_project_steps(root: Path) -> Iterator[str]:
    """Import ``steps/*.py`` under ``root`` so its fault sentences register, as collection would."""
    steps = root / "steps"
    if not steps.is_dir():
        return
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    for module in sorted(steps.glob("*.py")):
        if module.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"steps.{module.stem}")
        except Exception as exc:  # a broken step module is named, the rest still listed
            yield f"{module} could not be imported: {exc}"
