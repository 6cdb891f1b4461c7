"""Commands the runbook writes but no incident step holds: the drill would silently not run them.

A team's Diagnosis or Resolution section the parser did not attach to its incident is the worst way for a drill to
go wrong: the drill runs, rehearses nothing, and blames the runbook. Every command in a code block or an inline
code span that no step carries is reported, with its line, so the gap is seen before a drill is trusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from drillbook.runbook.commands import commands_from_code, normalise_language, reads_as_command
from drillbook.runbook.model import Incident, Runbook

_FENCE = re.compile(r"^(?P<indent>\s{0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s")
_NOT_COMMANDS = ('"', "{", "}", "[", "]")
"""Lines of JSON output under a command read as shell words, not commands anyone types."""


@dataclass(frozen=True)
class Unattached:
    """One command the document holds that no incident step carries."""

    line: int
    text: str
    incident: str | None
    """The incident whose heading section the command sits in (``None``: outside every incident)."""

    def format(self, path: Path | str) -> str:
        """``file:line: unattached-command: …`` with what to do."""
        where = f"in the section of incident {self.incident!r} but " if self.incident else ""
        return (
            f"{path}:{self.line}: unattached-command: {_short(self.text)} is {where}part of no incident's steps: "
            "no drill runs it (put it under the incident's numbered steps or a Diagnosis/Resolution heading "
            "inside the incident, or supply it to a step in the drill)"
        )


def unattached_commands(runbook: Runbook, text: str) -> list[Unattached]:
    """Every command of ``text`` (the runbook's markdown) that no step of ``runbook`` holds, in reading order."""
    attached = {c.line for i in runbook.incidents for s in i.steps for c in s.commands}
    attached |= {s.line for i in runbook.incidents for s in i.steps}
    found: list[Unattached] = []
    sections = _incident_sections(runbook.incidents, text.splitlines())
    for line, command in _document_commands(text):
        if line not in attached and not command.startswith(_NOT_COMMANDS):
            owner = next((i for i, (start, end) in sections.items() if start <= line < end), None)
            found.append(Unattached(line, command, owner))
    return found


def unattached_in(incident: Incident, runbook: Runbook, text: str) -> list[Unattached]:
    """The unattached commands inside ``incident``'s own heading section."""
    return [u for u in unattached_commands(runbook, text) if u.incident == incident.id]


def _document_commands(text: str) -> list[tuple[int, str]]:
    """(line, command) for every command in fenced blocks and inline code spans, outside front matter."""
    found: list[tuple[int, str]] = []
    lines = text.splitlines()
    index = _after_front_matter(lines)
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            for span in _INLINE.findall(lines[index]):
                if reads_as_command(span):
                    found.append((index + 1, span.strip()))
            index += 1
            continue
        fence = opening["fence"]
        body_start = index + 1
        end = body_start
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        code = "\n".join(lines[body_start:end])
        language = normalise_language(opening["info"])
        found.extend((c.line, c.text) for c in commands_from_code(code, language, body_start + 1))
        index = end + 1
    return found


def _fenced(lines: list[str]) -> set[int]:
    """Indexes of the lines inside code fences (a ``# comment`` there is no heading)."""
    inside: set[int] = set()
    fence: str | None = None
    for at, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence is None and opening:
            fence = opening["fence"]
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is not None:
            inside.add(at)
    return inside


def _after_front_matter(lines: list[str]) -> int:
    if not lines or lines[0].strip() != "---":
        return 0
    for at, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return at + 1
    return 0


def _incident_sections(incidents: tuple[Incident, ...], lines: list[str]) -> dict[str, tuple[int, int]]:
    """Each incident's heading section as [first line, end line): to the next heading of its level or above."""
    sections: dict[str, tuple[int, int]] = {}
    fenced = _fenced(lines)
    for incident in incidents:
        heading = _HEADING.match(lines[incident.line - 1]) if 0 < incident.line <= len(lines) else None
        if heading is None:
            continue
        level = len(heading["hashes"])
        end = len(lines) + 1
        for at in range(incident.line, len(lines)):
            other = None if at in fenced else _HEADING.match(lines[at])
            if other and len(other["hashes"]) <= level:
                end = at + 1
                break
        sections[incident.id] = (incident.line, end)
    return sections


def _short(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return repr(first if len(first) <= 70 else first[:67] + "...")
