"""``scenarios/<system>/drills.yaml``: what a drill decides about an incident without editing the runbook.

```yaml
incidents:
  RB-007:
    lines: 120-188              # read the incident from these runbook lines (also one the parser missed)
    title: Database pool exhausted
    time_target: 15 minutes     # the drill's resolution target (the runbook states none, or another)
    response_steps: [2, 3, 4]   # only these count toward the projected MTTR
    follow_up_steps: [7]        # never count (Prevention and Post-Incident never count, with no override)
    supplied:                   # commands for prose-only steps
      3: kubectl scale deployment/redis --replicas=1
```

Every override is the drill's claim, not the runbook's: :meth:`IncidentOverride.notes` says so in the report, and
supplied commands are marked "supplied by the drill". A Gherkin ``Given the drill supplies … for step N`` of one
scenario wins over ``supplied`` here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import yaml

from drillbook.errors import ScenarioError
from drillbook.runbook.model import Incident, Runbook, TimeTarget, TimeTargetKind
from drillbook.runbook.slos import duration_seconds
from drillbook.yamlfile import Problem, YamlFile, line_of

DRILLS_FILE = "drills.yaml"
_KEYS = {"lines", "title", "time_target", "response_steps", "follow_up_steps", "supplied"}
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|–|\.\.)\s*(\d+)\s*$")


@dataclass(frozen=True)
class IncidentOverride:
    """What ``drills.yaml`` says about one incident; ``where`` is ``drills.yaml:LINE`` for the report."""

    incident: str
    where: str
    lines: tuple[int, int] | None = None
    title: str | None = None
    time_target: TimeTarget | None = None
    response_steps: frozenset[int] | None = None
    follow_up_steps: frozenset[int] = frozenset()
    supplied: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))

    def apply(self, runbook: Runbook, incident: Incident | None) -> Incident:
        """The incident the drill rehearses: read from ``lines`` when given, with the drill's time target."""
        from drillbook.runbook.ranges import incident_from_lines

        if self.lines is not None:
            first, last = self.lines
            incident = incident_from_lines(runbook, first, last, incident_id=self.incident, title=self.title)
        if incident is None:
            raise ScenarioError(
                f"incident {self.incident!r} is not in {runbook.path} and {self.where} gives no 'lines' to read it "
                f"from; available: {', '.join(i.id for i in runbook.incidents) or 'none'}"
            )
        if self.time_target is not None:
            incident = replace(incident, time_target=self.time_target)
        return incident

    def follow_up(self, incident: Incident, by_section: frozenset[int]) -> frozenset[int]:
        """Steps that never count toward MTTR: ``by_section`` (Prevention, Post-Incident, whatever the override
        says), the override's follow-up steps, and with ``response_steps`` every step it does not list."""
        follow_up = set(by_section | self.follow_up_steps)
        if self.response_steps is not None:
            follow_up |= {s.number for s in incident.steps if s.number not in self.response_steps}
        return frozenset(follow_up)

    def notes(self) -> list[str]:
        """One sentence per override, saying it is the drill's (for the report and progress)."""
        notes: list[str] = []
        if self.lines is not None:
            notes.append(f"the drill reads this incident from runbook lines {self.lines[0]}-{self.lines[1]}")
        if self.time_target is not None:
            notes.append(f"the time target {self.time_target.text} is the drill's, not the runbook's")
        if self.response_steps is not None:
            steps = ", ".join(str(n) for n in sorted(self.response_steps))
            notes.append(f"the drill counts only steps {steps} as response time")
        if self.follow_up_steps:
            steps = ", ".join(str(n) for n in sorted(self.follow_up_steps))
            notes.append(f"the drill treats steps {steps} as follow-up (not response time)")
        for number in sorted(self.supplied):
            notes.append(f"the drill supplies a command for step {number}")
        return [f"{note} ({self.where})" for note in notes]


@dataclass(frozen=True)
class DrillOverrides:
    """All of one system's ``drills.yaml`` (empty when the file does not exist)."""

    path: Path
    incidents: Mapping[str, IncidentOverride] = field(default_factory=lambda: MappingProxyType({}))

    def for_incident(self, incident_id: str) -> IncidentOverride | None:
        """The override of ``incident_id`` (case, spaces and hyphens ignored, as runbook lookups do)."""
        wanted = _key(incident_id)
        return next((o for o in self.incidents.values() if _key(o.incident) == wanted), None)


def incident_for_drill(runbook: Runbook, wanted: str, scenario_dir: Path) -> tuple[Incident, IncidentOverride | None]:
    """The incident a drill of ``wanted`` rehearses, after ``drills.yaml`` (its section range, its time target).

    Raises:
        KeyError: no such incident in the runbook and no override defining it (the message lists the ids).
        ScenarioError: ``drills.yaml`` is malformed.
    """
    override = load_overrides(scenario_dir).for_incident(wanted)
    if override is not None and override.lines is not None:
        return override.apply(runbook, None), override  # the range is the incident, whatever the parser read
    incident = runbook.incident(wanted)
    return (override.apply(runbook, incident) if override else incident), override


def load_overrides(scenario_dir: Path) -> DrillOverrides:
    """Read ``scenario_dir/drills.yaml``; no file means no overrides.

    Raises:
        ScenarioError: the file is malformed; located at the first problem, listing all.
    """
    path = scenario_dir / DRILLS_FILE
    if not path.exists():
        return DrillOverrides(path)
    file = YamlFile.read(path)
    overrides = _decode(file)
    file.raise_problems()
    return overrides


def check_overrides(path: Path) -> list[Problem]:
    """Every problem of one ``drills.yaml`` (empty when it is valid)."""
    file = YamlFile.read(path)
    _decode(file)
    return file.in_order()


def _decode(file: YamlFile) -> DrillOverrides:
    if file.root is None:
        return DrillOverrides(file.path)
    top = file.mapping(file.root, DRILLS_FILE, {"incidents"})
    found: dict[str, IncidentOverride] = {}
    for key, value in file.entries(top.get("incidents"), "incidents"):
        incident = str(key.value)
        what = f"incidents.{incident}"
        raw = file.mapping(value, what, _KEYS)
        where = f"{file.path.name}:{line_of(key)}"
        found[incident] = IncidentOverride(
            incident=incident,
            where=where,
            lines=_lines(file, raw.get("lines"), f"{what}.lines"),
            title=file.string(raw.get("title"), f"{what}.title"),
            time_target=_target(file, raw.get("time_target"), f"{what}.time_target", where),
            response_steps=_steps(file, raw.get("response_steps"), f"{what}.response_steps")
            if "response_steps" in raw
            else None,
            follow_up_steps=_steps(file, raw.get("follow_up_steps"), f"{what}.follow_up_steps"),
            supplied=MappingProxyType(_supplied(file, raw.get("supplied"), f"{what}.supplied")),
        )
        both = (found[incident].response_steps or frozenset()) & found[incident].follow_up_steps
        if both:
            file.error(value, f"{what}: steps {sorted(both)} are both response_steps and follow_up_steps; keep one")
    return DrillOverrides(file.path, MappingProxyType(found))


def _lines(file: YamlFile, node: yaml.Node | None, what: str) -> tuple[int, int] | None:
    if node is None:
        return None
    value = file.plain(node)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        first, last = int(value[0]), int(value[1])
    elif isinstance(value, str) and (match := _RANGE.match(value)):
        first, last = int(match.group(1)), int(match.group(2))
    else:
        file.error(node, f"{what} must be a line range such as 120-188 or [120, 188], got {value!r}")
        return None
    if not 1 <= first <= last:
        file.error(node, f"{what} must run from a first line (>= 1) to a later one, got {first}-{last}")
        return None
    return first, last


def _target(file: YamlFile, node: yaml.Node | None, what: str, where: str) -> TimeTarget | None:
    if node is None:
        return None
    text = str(file.plain(node)) if isinstance(node, yaml.ScalarNode) else ""
    seconds = duration_seconds(text)
    if seconds is None or seconds <= 0:
        file.error(node, f"{what} must be a duration such as '15 minutes' or '90s', got {text or 'a collection'!r}")
        return None
    return TimeTarget(TimeTargetKind.MTTR, f"{text} (set by the drill, {where})", seconds, line_of(node))


def _steps(file: YamlFile, node: yaml.Node | None, what: str) -> frozenset[int]:
    numbers: set[int] = set()
    for item in file.items(node, what):
        value = file.plain(item)
        if isinstance(value, str) and (match := _RANGE.match(value)):
            numbers.update(range(int(match.group(1)), int(match.group(2)) + 1))
            continue
        number = file.integer(item, f"each entry of {what} (a step number or a range such as '2-4')", minimum=1)
        if number is not None:
            numbers.add(number)
    return frozenset(numbers)


def _supplied(file: YamlFile, node: yaml.Node | None, what: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for key, value in file.entries(node, what):
        number = file.integer(key, f"each key of {what} (a step number)", minimum=1)
        command = file.string(value, f"{what}.{key.value} (the command)")
        if number is not None and command is not None:
            found[number] = command.strip()
    return found


def _key(text: str) -> str:
    return "-".join(re.findall(r"[^\W_]+", text.casefold()))
