"""Collection-time checks: a drill naming an unknown system, incident or fault fails before anything runs,
with the feature file, the line, and what exists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from drillbook.errors import DrillbookError

_SYSTEM = re.compile(r'the "(?P<system>[^"]+)" system')
_INCIDENT = re.compile(r'incident "(?P<incident>[^"]+)"')
_FAULT = re.compile(r'the "(?P<fault>[\w-]+)" fault is injected')
_STEP_REF = re.compile(r"(?:for step|step) (?P<number>\d+)(?: follows| is optional|$)")
_MEASURES = re.compile(r'the drill measures "(?P<slo>[^"]+)"')


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
                incident, _ = incident_for_drill(runbook, match["incident"], scenarios_dir / system)
            except DrillbookError as exc:
                found.append(f"{feature}:{line}: {exc}")
                continue
            except KeyError:
                ids = ", ".join(i.id for i in runbook.incidents)
                found.append(
                    f"{feature}:{line}: no incident {match['incident']!r} in {system}'s runbook; it has: {ids}"
                )
                continue
            numbers = sorted({step.number for step in incident.steps})
            for ref_line, ref_text in steps:
                ref = _STEP_REF.search(ref_text)
                if ref and int(ref["number"]) not in numbers:
                    found.append(
                        f"{feature}:{ref_line}: incident {incident.id} has no step {ref['number']}; "
                        f"its steps are {', '.join(map(str, numbers)) or 'none'}"
                    )
    return found
