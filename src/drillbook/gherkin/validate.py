"""Collection-time checks of a compiled :class:`~drillbook.gherkin.plan.DrillPlan`: a drill naming an unknown
system, incident, fault or runbook step fails before anything runs, with the feature file, the line, what exists
and the closest name."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from drillbook.errors import DrillbookError
from drillbook.gherkin.plan import DrillPlan, Sentence, compile_plan, sentences_from_library
from drillbook.runbook.lint import lint_runbook
from drillbook.runbook.model import Effect, Incident, Runbook


@dataclass(frozen=True)
class ScenarioHints:
    """What a scenario names, for ``drillbook list`` (read through the plan)."""

    system: str | None
    incident: str | None


def hints(step_texts: list[str]) -> ScenarioHints:
    """The system and incident a scenario's step texts name, matched by the step library's own parsers."""
    plan = compile_plan("", 0, "", sentences_from_library([(0, "", text) for text in step_texts]))
    incident = plan.incident
    return ScenarioHints(plan.system.value if plan.system else None, incident.value if incident else None)


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


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def problems(plan: DrillPlan, scenarios_dir: Path) -> list[str]:
    """Everything wrong with one drill's names, as ``file:line: message`` lines in line order."""
    prefix = f"{plan.feature}:"

    def line_of(message: str) -> int:
        number = message.removeprefix(prefix).split(":", 1)[0]
        return int(number) if number.isdigit() else 0

    return sorted(_problems(plan, scenarios_dir), key=line_of)


def _problems(plan: DrillPlan, scenarios_dir: Path) -> list[str]:
    from drillbook.overrides import incident_for_drill
    from drillbook.runbook import parse_runbook

    found = list(plan.problems)
    systems = available_systems(scenarios_dir)
    if plan.system is not None and plan.system.value not in systems:
        found.append(
            f"{plan.where(plan.system.line)}: unknown system {plan.system.value!r}; available systems in "
            f"{scenarios_dir}: {', '.join(systems) or 'none'}{_did_you_mean(plan.system.value, systems)}"
        )
        return found
    if plan.system is None:
        if plan.incidents or plan.fault is not None:
            found.append(
                f'{plan.where(plan.line)}: the drill names no system; add: Given the "<system>" system is running '
                f"on the local platform (available systems in {scenarios_dir}: {', '.join(systems) or 'none'})"
            )
        return found
    system = plan.system.value
    try:
        runbook = parse_runbook(scenarios_dir / system / "runbook.md")
    except DrillbookError as exc:
        line = plan.incident.line if plan.incident else plan.system.line
        return [*found, f"{plan.where(line)}: the runbook of {system!r} cannot be read: {exc}"]
    followed: Incident | None = None
    for mention in plan.incidents:
        try:
            incident, override = incident_for_drill(runbook, mention.value, scenarios_dir / system)
        except KeyError:
            ids = [i.id for i in runbook.incidents]
            found.append(
                f"{plan.where(mention.line)}: no incident {mention.value!r} in {system}'s runbook; it has: "
                f"{', '.join(ids)}{_did_you_mean(mention.value, ids)} "
                f"(or name its lines in {scenarios_dir / system / 'drills.yaml'})"
            )
            continue
        except DrillbookError as exc:
            found.append(f"{plan.where(mention.line)}: {exc}")
            continue
        if followed is None:
            followed = incident
            if plan.follows_line is not None:
                supplied = {r.number for r in plan.supplied} | set(override.supplied if override else ())
                found.extend(
                    action_problems(
                        plan.where(plan.follows_line), incident, runbook, supplied=supplied, text=runbook_text(runbook)
                    )
                )
        elif incident.id != followed.id:
            found.append(
                f"{plan.where(mention.line)}: the drill follows incident {followed.id} (line "
                f"{plan.incidents[0].line}) but this sentence names {incident.id}: a drill rehearses one incident"
            )
    if followed is not None:
        numbers = sorted({step.number for step in followed.steps})
        found.extend(
            f"{plan.where(ref.line)}: incident {followed.id} has no step {ref.number}; "
            f"its steps are {', '.join(map(str, numbers)) or 'none'}"
            for ref in plan.step_refs
            if ref.number not in numbers
        )
    return found


_WRITTEN = re.compile(r"<[^>]+>|\[[^\]]*\]")


def unknown_step_problem(plan: DrillPlan, step: Sentence, known: list[str]) -> str:
    """``file:line`` for a sentence no step definition matches, with the closest sentences drillbook knows."""
    said = f"{step.keyword} {step.text}"
    closest = difflib.get_close_matches(said, known, n=3, cutoff=0.6)
    if not closest:  # compare the words only: a typo in a long fault sentence still finds its sentence
        by_name = {_WRITTEN.sub("", k.split(" ", 1)[1]): k for k in known if " " in k}
        closest = [by_name[m] for m in difflib.get_close_matches(step.text, list(by_name), n=3, cutoff=0.3)]
    hint = "; closest known sentences:\n      " + "\n      ".join(closest) if closest else ""
    return f"{plan.where(step.line)}: no step matches {said!r}{hint}\n    (every sentence: drillbook list --steps)"


def known_sentences(visible: list[str]) -> list[str]:
    """The library's sentences as written in docs plus the plain sentences visible to a scenario, deduplicated."""
    from drillbook.gherkin.steps import iter_step_patterns

    found: list[str] = []
    for written in [*iter_step_patterns(), *visible]:
        sentence = written if written.split(" ", 1)[0] in {"Given", "When", "Then"} else f"When {written}"
        if sentence not in found:
            found.append(sentence)
    return found


def action_problems(where: str, incident: Incident, runbook: Runbook, *, supplied: set[int], text: str) -> list[str]:
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
        f"{where}: incident {incident.id} cannot be judged: {why}; the drill would rehearse nothing "
        f"and blame the runbook\n    {lines}\n    fix: {fix}"
    ]
