"""Collection-time checks: a drill naming an unknown system, incident or fault fails before anything runs,
with the feature file, the line, and what exists."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillbook.errors import DrillbookError
from drillbook.runbook.lint import lint_runbook
from drillbook.runbook.model import Effect, Incident, Runbook

_SYSTEM = re.compile(r'the "(?P<system>[^"]+)" system')
_INCIDENT = re.compile(r'incident "(?P<incident>[^"]+)"')
_FAULT = re.compile(r'the "(?P<fault>[\w-]+)" fault is injected')
_STEP_REF = re.compile(r"(?:for step|step) (?P<number>\d+)(?: follows| is optional|$)")
_MEASURES = re.compile(r'the drill measures "(?P<slo>[^"]+)"')
_FOLLOWS = re.compile(r'the operator follows incident "')


@dataclass(frozen=True)
class ScenarioHints:
    """What a scenario's step texts name, read before it runs."""

    system: str | None
    incident: str | None
    slos: tuple[str, ...] = ()
    """Objectives the drill states itself (``the drill measures "error rate < 1%"``)."""
    fault: str = ""
    """The fault the drill injects, by name (from the generic step or a declared fault sentence)."""


def hints(step_texts: list[str]) -> ScenarioHints:
    """The system, incident and drill-stated SLOs a scenario's steps name (first mention wins)."""
    system = next((m["system"] for t in step_texts if (m := _SYSTEM.search(t))), None)
    incident = next((m["incident"] for t in step_texts if (m := _INCIDENT.search(t))), None)
    slos = tuple(m["slo"] for t in step_texts if (m := _MEASURES.search(t)))
    return ScenarioHints(system, incident, slos, _fault(step_texts))


def _fault(step_texts: list[str]) -> str:
    from drillbook.gherkin.steps import FAULT_PHRASES

    for text in step_texts:
        if match := _FAULT.search(text):
            return match["fault"]
        if text in FAULT_PHRASES:
            return FAULT_PHRASES[text][0]
    return ""


def available_systems(scenarios_dir: Path) -> list[str]:
    """Systems with a scenario directory holding a runbook."""
    if not scenarios_dir.is_dir():
        return []
    return sorted(p.name for p in scenarios_dir.iterdir() if (p / "runbook.md").is_file())


def runbook_text(runbook: Runbook) -> str:
    """The runbook's markdown as the parser read it (bad bytes replaced)."""
    try:
        return runbook.path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def problems(feature: str, steps: list[tuple[int, str]], scenarios_dir: Path) -> list[str]:
    """Everything wrong with one scenario's names, as ``file:line: message`` lines."""
    from drillbook.faults.base import available_faults
    from drillbook.overrides import incident_for_drill
    from drillbook.runbook import parse_runbook

    found: list[str] = []
    systems = available_systems(scenarios_dir)
    system: str | None = None
    for line, text in steps:
        if match := _SYSTEM.search(text):
            system = match["system"]
            if system not in systems:
                found.append(
                    f"{feature}:{line}: unknown system {system!r}; available systems in {scenarios_dir}: "
                    f"{', '.join(systems) or 'none'}"
                )
                system = None
        if (match := _FAULT.search(text)) and match["fault"] not in available_faults():
            found.append(
                f"{feature}:{line}: unknown fault {match['fault']!r}; available faults: {', '.join(available_faults())}"
            )
        if (match := _INCIDENT.search(text)) and system is not None:
            try:
                runbook = parse_runbook(scenarios_dir / system / "runbook.md")
            except DrillbookError as exc:
                found.append(f"{feature}:{line}: the runbook of {system!r} cannot be read: {exc}")
                continue
            try:
                incident, override = incident_for_drill(runbook, match["incident"], scenarios_dir / system)
            except KeyError:
                ids = ", ".join(i.id for i in runbook.incidents)
                found.append(
                    f"{feature}:{line}: no incident {match['incident']!r} in {system}'s runbook; it has: {ids} "
                    f"(or name its lines in {scenarios_dir / system / 'drills.yaml'})"
                )
                continue
            except DrillbookError as exc:
                found.append(f"{feature}:{line}: {exc}")
                continue
            numbers = sorted({step.number for step in incident.steps})
            if _FOLLOWS.search(text):
                found.extend(
                    action_problems(
                        feature,
                        line,
                        incident,
                        runbook,
                        supplied=supplied_steps([t for _, t in steps]) | set(override.supplied if override else ()),
                        text=runbook_text(runbook),
                    )
                )
            for ref_line, ref_text in steps:
                ref = _STEP_REF.search(ref_text)
                if ref and int(ref["number"]) not in numbers:
                    found.append(
                        f"{feature}:{ref_line}: incident {incident.id} has no step {ref['number']}; "
                        f"its steps are {', '.join(map(str, numbers)) or 'none'}"
                    )
    return found


_SUPPLIED = re.compile(r"the drill supplies `[^`]+` for step (?P<number>\d+)")
_WRITTEN = re.compile(r"<[^>]+>|\[[^\]]*\]")


def unknown_step_problem(feature: str, step: Any, known: list[str]) -> str:
    """``file:line`` for a sentence no step definition matches, with the closest sentences drillbook knows."""
    said = f"{step.type.capitalize()} {step.name}"
    closest = difflib.get_close_matches(said, known, n=3, cutoff=0.6)
    if not closest:  # compare the words only: a typo in a long fault sentence still finds its sentence
        by_name = {_WRITTEN.sub("", k.split(" ", 1)[1]): k for k in known if " " in k}
        closest = [by_name[m] for m in difflib.get_close_matches(step.name, list(by_name), n=3, cutoff=0.3)]
    hint = "; closest known sentences:\n      " + "\n      ".join(closest) if closest else ""
    return f"{feature}:{step.line_number}: no step matches {said!r}{hint}\n    (every sentence: drillbook list --steps)"


def known_sentences(visible: list[str]) -> list[str]:
    """The library's sentences as written in docs plus the plain sentences visible to a scenario, deduplicated."""
    from drillbook.gherkin.steps import iter_step_patterns

    found: list[str] = []
    for written in [*iter_step_patterns(), *visible]:
        sentence = written if written.split(" ", 1)[0] in {"Given", "When", "Then"} else f"When {written}"
        if sentence not in found:
            found.append(sentence)
    return found


def action_problems(
    feature: str, line: int, incident: Incident, runbook: Runbook, *, supplied: set[int], text: str
) -> list[str]:
    """An incident the drill cannot act on: no step with a command it could run, and none supplied.

    A runbook whose steps are all prose (or that was read with no steps at all) cannot be judged: the drill
    would run nothing and blame the runbook. The message gives the lint finding and the line that would fix it.
    """
    runnable = [s for s in incident.steps if any(c.effect is not Effect.MANUAL for c in s.commands)]
    if runnable or supplied & {s.number for s in incident.steps}:
        return []
    from drillbook.gherkin.unattached import unattached_in

    findings = [
        f.format()
        for f in lint_runbook(runbook, which=lambda tool: tool)
        if f.incident == incident.id and f.rule in {"no-steps", "prose-only-step"}
    ]
    findings += [u.format(runbook.path) for u in unattached_in(incident, runbook, text)]
    if incident.steps:
        first = incident.steps[0].number
        fix = f"Given the drill supplies `<the command an operator runs>` for step {first}"
        why = f"its {len(incident.steps)} step(s) give no command to run"
    else:
        fix = "number the steps under the incident's heading (or a Diagnosis/Resolution heading inside it)"
        why = "it was read with 0 steps"
    lines = "\n    ".join(findings) or f"{runbook.path}:{incident.line}: no-steps: incident {incident.id!r}"
    return [
        f"{feature}:{line}: incident {incident.id} cannot be judged: {why}; the drill would rehearse nothing "
        f"and blame the runbook\n    {lines}\n    fix: {fix}"
    ]


def supplied_steps(step_texts: list[str]) -> set[int]:
    """The step numbers a scenario supplies commands for."""
    return {int(m["number"]) for t in step_texts if (m := _SUPPLIED.search(t))}
