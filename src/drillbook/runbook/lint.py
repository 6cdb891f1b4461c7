"""Findings about a parsed runbook that would stop it from being rehearsed as a drill.

Rules (ids as printed): ``unresolved-placeholder``, ``prose-only-step``, ``unguarded-destructive``,
``never-ends``, ``leaves-sandbox``, ``no-time-target``, ``no-steps``, ``tool-not-installed``, ``nothing-drillable``,
``invalid-utf8``, ``unclosed-fence``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from drillbook.runbook.model import Command, Effect, Incident, Runbook

RULES: dict[str, str] = {
    "unresolved-placeholder": "a command still holds a placeholder such as <pod-name> or $DATABASE_URL",
    "prose-only-step": "a step says what to do in words but gives no command",
    "unguarded-destructive": "a destructive command has no --dry-run or confirmation",
    "never-ends": "a command never ends by itself (-w, -f, watch, top)",
    "leaves-sandbox": "a command reaches outside the sandbox (cloud CLIs, ssh, notifications)",
    "no-time-target": "an incident states no time to resolve, response SLA, MTTR or RTO",
    "no-steps": "an incident has no steps to rehearse",
    "tool-not-installed": "a command's tool is not installed on this machine",
    "invalid-utf8": "the file is not valid UTF-8; bad bytes were read as U+FFFD",
    "unclosed-fence": "a code block is never closed and runs to the end of the file",
    "nothing-drillable": "the document yields nothing a drill can rehearse (no incidents, or prose-only remedies)",
}
"""Every rule id with what it flags."""

_SHELL_WORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "for", "do", "done", "while", "until", "case", "esac", "exit"}
    | {"return", "wait", "local", "read", "shift", "export", "cd", "set", "source", "echo", "printf", "test"}
    | {"true", "false", "sleep"}
)
_GUARD = re.compile(r"--dry-run|--interactive|\bconfirm\b|\bread\s+-p\b|\brm\s+-\w*i|--wait-for-confirmation", re.I)


@dataclass(frozen=True)
class Finding:
    """One lint finding, located in the runbook."""

    path: Path
    line: int
    rule: str
    message: str
    incident: str | None = None

    def format(self) -> str:
        """``file:line: rule-id: message (what to do)``."""
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON-ready data."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def lint_runbook(runbook: Runbook, *, which: Callable[[str], str | None] = shutil.which) -> list[Finding]:
    """Every finding for ``runbook``, ordered by line.

    Args:
        runbook: a parsed runbook.
        which: how to look a tool up on this machine (``shutil.which`` unless a test passes another).
    """
    findings: list[Finding] = []
    missing_tools: dict[str, tuple[int, str, int]] = {}
    for incident in runbook.incidents:
        findings.extend(_incident_findings(runbook.path, incident))
        for step in incident.steps:
            for command in step.commands:
                findings.extend(_command_findings(runbook.path, incident.id, command))
                tool = _required_tool(command)
                if tool and which(tool) is None:
                    first = missing_tools.get(tool)
                    missing_tools[tool] = (
                        (first[0], first[1], first[2] + 1) if first else (command.line, incident.id, 1)
                    )
    findings.extend(_drillable_findings(runbook))
    findings.extend(Finding(runbook.path, note.line, note.rule, note.message) for note in runbook.notes)
    for tool, (line, incident_id, count) in missing_tools.items():
        uses = f"{count} command{'s' if count > 1 else ''}"
        findings.append(
            Finding(
                runbook.path,
                line,
                "tool-not-installed",
                f"{tool!r} is not on PATH here ({uses} use it) (install {tool} or run drills where it exists)",
                incident_id,
            )
        )
    return sorted(findings, key=lambda f: (f.line, f.rule))


def _drillable_findings(runbook: Runbook) -> list[Finding]:
    """One plain finding when nothing in the document can be rehearsed, saying why."""
    if not runbook.incidents:
        why = (
            "no section describes a situation (an alert, a symptom, a procedure) with diagnosis or remedy under it "
            "(give each incident a heading and put its steps and commands under it)"
        )
        return [Finding(runbook.path, 1, "nothing-drillable", f"nothing to drill: {why}")]
    commands = [c for i in runbook.incidents for s in i.steps for c in s.commands]
    if commands and all(c.effect is Effect.MANUAL for c in commands):
        why = (
            f"{len(runbook.incidents)} incident(s) found, but every remedy is prose only "
            "(write the commands an operator runs, in code blocks)"
        )
        return [Finding(runbook.path, runbook.incidents[0].line, "nothing-drillable", f"nothing to drill: {why}")]
    if not commands:
        why = f"{len(runbook.incidents)} incident(s) found, but none has a step or command"
        return [Finding(runbook.path, runbook.incidents[0].line, "nothing-drillable", f"nothing to drill: {why}")]
    return []


def _incident_findings(path: Path, incident: Incident) -> list[Finding]:
    found: list[Finding] = []
    name = f"incident {incident.id!r}"
    if incident.time_target is None:
        only = (
            f" - '{incident.response_target.text}' is a response SLA, not a time to resolve"
            if incident.response_target is not None
            else ""
        )
        found.append(
            Finding(
                path,
                incident.line,
                "no-time-target",
                f"{name} has no time target{only} (add '**Time to Resolve**: 15 minutes' or a document MTTR)",
                incident.id,
            )
        )
    if not incident.steps:
        found.append(
            Finding(
                path,
                incident.line,
                "no-steps",
                f"{name} has no steps (add numbered steps with the commands an operator runs)",
                incident.id,
            )
        )
    for step in incident.steps:
        if step.commands and all(c.effect is Effect.MANUAL for c in step.commands):
            found.append(
                Finding(
                    path,
                    step.line,
                    "prose-only-step",
                    f"step {step.number} {step.title[:60]!r} of {name} gives no command "
                    "(write the command to run, or accept that the drill pauses for a human here)",
                    incident.id,
                )
            )
    return found


def _command_findings(path: Path, incident_id: str, command: Command) -> list[Finding]:
    found: list[Finding] = []
    short = _short(command.text)
    if command.placeholders and command.effect is not Effect.MANUAL:
        names = ", ".join(command.placeholders)
        found.append(
            Finding(
                path,
                command.line,
                "unresolved-placeholder",
                f"{short} uses {names} (bind it in the scenario's bindings or write the real value)",
                incident_id,
            )
        )
    if command.effect is Effect.DESTRUCTIVE and not _GUARD.search(command.text):
        found.append(
            Finding(
                path,
                command.line,
                "unguarded-destructive",
                f"{short} destroys data with no guard (add --dry-run or a confirmation step before it)",
                incident_id,
            )
        )
    if command.effect is Effect.NON_TERMINATING:
        found.append(
            Finding(
                path,
                command.line,
                "never-ends",
                f"{short} never ends by itself (drop -w/-f, add a count, or wrap it in 'timeout 30')",
                incident_id,
            )
        )
    if command.effect in (Effect.EXTERNAL, Effect.NOTIFICATION):
        what = "notifies people outside the drill" if command.effect is Effect.NOTIFICATION else "leaves the sandbox"
        found.append(
            Finding(
                path,
                command.line,
                "leaves-sandbox",
                f"{short} {what} (bind a local stand-in in the scenario, or the drill will skip it)",
                incident_id,
            )
        )
    return found


def _required_tool(command: Command) -> str | None:
    if command.effect is Effect.MANUAL or command.language == "prose":
        return None
    tool = "psql" if command.tool == "sql" else command.tool
    if not tool or tool in _SHELL_WORDS or "/" in tool or tool.endswith(".sh") or not re.match(r"^[\w.+-]+$", tool):
        return None
    return tool


def _short(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return repr(first if len(first) <= 70 else first[:67] + "...")
