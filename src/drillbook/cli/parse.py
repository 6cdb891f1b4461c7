"""``drillbook parse``: show what drillbook reads in a runbook (outline, or the model as JSON)."""

from __future__ import annotations

import argparse
import json

from drillbook.runbook import Incident, Runbook, parse_runbook


def emit(text: str) -> None:
    """Print ``text``; characters the terminal cannot show are escaped rather than crashing the command."""
    try:
        print(text)
    except UnicodeEncodeError:
        print(text.encode("ascii", "backslashreplace").decode("ascii"))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``parse`` subcommand."""
    parser = subparsers.add_parser(
        "parse",
        help="show the incidents, SLOs, steps and commands drillbook reads in a runbook",
        description="Parse a markdown runbook and print an outline: incidents with id, title, severity and "
        "time target; document SLOs and time targets; steps with their commands and effects. --json prints "
        "the whole model (incidents[].id/.title/.severity/.time_target/.alerts[]/.slos[]/.steps[], slos[], "
        "time_targets[], alerts[], metadata).",
    )
    parser.add_argument("runbook", help="path to the runbook markdown file")
    parser.add_argument("--json", action="store_true", help="print the parsed model as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the outline (or JSON) of one runbook; parse errors reach the dispatcher as exit code 2."""
    runbook = parse_runbook(args.runbook)
    if args.json:
        print(json.dumps(runbook.to_json(), indent=2))
    else:
        emit("\n".join(outline(runbook)))
    return 0


def outline(runbook: Runbook) -> list[str]:
    """The readable outline ``drillbook parse`` prints, one string per line."""
    lines = [f"{runbook.path}: {runbook.title} ({len(runbook.incidents)} incidents)"]
    for slo in runbook.slos:
        lines.append(f"  SLO {slo.metric} {slo.op} {slo.threshold:g}{slo.unit}  (line {slo.line}: {slo.text})")
    for target in runbook.time_targets:
        lines.append(f"  {target.kind.value} {target.seconds:g}s  (line {target.line}: {target.text})")
    for alert in runbook.alerts:
        lines.append(f"  alert {alert.name}: {alert.metric} {alert.op} {alert.threshold:g}{alert.unit}")
    for note in runbook.notes:
        lines.append(f"  note line {note.line}: {note.rule}: {note.message}")
    for incident in runbook.incidents:
        lines.extend(_incident_lines(incident))
    return lines


def _incident_lines(incident: Incident) -> list[str]:
    target = (
        f"{incident.time_target.kind.value} {incident.time_target.seconds:g}s"
        if incident.time_target
        else "no time target"
    )
    if incident.response_target is not None:
        target += f"; respond within {incident.response_target.seconds:g}s"
    lines = [
        "",
        f"[{incident.id}] {incident.title}  (line {incident.line}; severity {incident.severity or '-'}; {target})",
    ]
    for alert in incident.alerts:
        held = f" for {alert.for_seconds:g}s" if alert.for_seconds is not None else ""
        lines.append(f"  alert: {alert.metric} {alert.op} {alert.threshold:g}{alert.unit}{held}")
    for slo in incident.slos:
        lines.append(f"  slo: {slo.metric} {slo.op} {slo.threshold:g}{slo.unit}")
    for step in incident.steps:
        lines.append(f"  {step.number}. {step.title}  (line {step.line})")
        for command in step.commands:
            first = command.text.splitlines()[0] if command.text else ""
            extra = f"; needs {', '.join(command.placeholders)}" if command.placeholders else ""
            extra += f"; {command.branch}" if command.branch else ""
            lines.append(f"     [{command.effect.value}] {first}  ({command.tool or command.language}{extra})")
    return lines
