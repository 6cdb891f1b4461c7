"""Alternatives offered inside one code block: which of its commands belong to which branch.

A block offers alternatives in three ways:

1. ``# Option 2: …`` (also Alternative/Approach/Method/Scenario N) opens a branch that runs to the next one;
2. platform comments (``# Kubernetes``, ``# Docker Compose``, ``# Using Helm``) do when the block names two or more;
3. ``# Or restart`` (``# Alternatively, …``) between two groups of commands: the group above it and the group it
   heads are alternatives, labelled by their heading comments ("Scale up", "Or restart"; "Option 1" for a first
   group with no heading). A group is the commands under one heading comment; the next heading comment that does
   not start with "Or" ends the alternatives, and what follows runs whichever was chosen. An "Or" with no command
   on one side ("# Increase the pool in the app" / "# Or kill idle connections" / ``SELECT pg_terminate_backend…``)
   offers a prose alternative only: no branch, and the commands run as written.

SQL (``--``) and ``//`` comments count like ``#`` ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from drillbook.runbook.model import Command

_COMMENT = ("#", "--", "//")
_OPTION = re.compile(
    r"^(?:#|--|//)\s*(option|alternative|approach|method|scenario)(?:\s+#?|#|(?=\d))([a-z0-9]{1,3})\b(?!\.\d)",
    re.IGNORECASE,
)
"""``# Option 2``, ``# Option #3``, ``-- Scenario B``, ``# option1``; not ``# Optional`` nor ``# Alternatively``."""
_PLATFORM = re.compile(
    r"^(?:#|--|//)+\s*(?:(?:for|on|using|with|via|if using|if you use|in|if on|if running)\s+)?"
    r"(kubernetes|k8s|docker[ -]compose|docker swarm|docker|podman|helm|kubectl|openshift|systemd|systemctl|"
    r"bare[ -]metal|ecs|nomad|linux|macos|windows|vms?|aws|gcp|azure|heroku)\b(?:\s*(?:\(.*\)|only|setup|"
    r"deployments?|environments?|clusters?|installs?))?\s*:?\s*$",
    re.IGNORECASE,
)
_HEAD_WORDS = (
    "option", "alternative", "approach", "method", "scenario", "for", "on", "using", "with", "via", "if", "in",
    "kubernetes", "k8s", "docker", "podman", "helm", "kubectl", "openshift", "systemd", "systemctl", "bare",
    "ecs", "nomad", "linux", "macos", "windows", "vm", "aws", "gcp", "azure", "heroku",
)  # fmt: skip
"""How the words after the comment marker of an ``_OPTION`` or ``_PLATFORM`` head can start (lower-cased)."""
_OR = re.compile(r"^(?:or|alternatively)\b", re.IGNORECASE)


def block_branches(lines: Sequence[tuple[int, str]], commands: Sequence[Command]) -> dict[int, str]:
    """Line → the branch label of the alternative it sits under, for the lines of a block that offers some."""
    comments = [(at, stripped) for at, text in lines if (stripped := text.strip()).startswith(_COMMENT)]
    if not comments:
        return {}  # most blocks have no comment at all
    found = _labelled(lines, comments)
    if found or not any(_OR.match(text.lstrip("#-/ ")) for _, text in comments):
        return found
    return _or_groups(comments, commands)


def _labelled(lines: Sequence[tuple[int, str]], comments: list[tuple[int, str]]) -> dict[int, str]:
    """``# Option 2`` heads, and platform heads when there are two platforms or more."""
    found: dict[int, str] = {}
    heads: dict[int, str] = {}
    platforms: set[str] = set()
    for at, stripped in comments:
        if not stripped.lstrip("#-/").lstrip().lower().startswith(_HEAD_WORDS):
            continue  # neither an option nor a platform head: no regex needed
        if match := _OPTION.match(stripped):
            heads[at] = f"{match.group(1).capitalize()} {match.group(2).upper()}"
        elif match := _PLATFORM.match(stripped):
            label = " ".join(w if w.isupper() else w.capitalize() for w in re.split(r"[\s-]+", match.group(1)))
            heads[at] = label
            platforms.add(label.casefold())
    if len(platforms) == 1:
        heads = {at: label for at, label in heads.items() if label.casefold() not in platforms}
    if not heads:
        return found
    current: str | None = None
    for at, _ in lines:
        if at in heads:
            current = heads[at]
        elif current is not None:
            found[at] = current
    return found


@dataclass
class _Group:
    """The commands under one heading comment."""

    heading: str | None
    alternative: bool  # the heading starts with "Or" / "Alternatively"
    lines: list[int] = field(default_factory=list)


def _or_groups(comments: list[tuple[int, str]], commands: Sequence[Command]) -> dict[int, str]:
    """Groups of commands joined by an ``# Or …`` heading, labelled by their headings."""
    groups = _groups(comments, commands)
    found: dict[int, str] = {}
    index = 1
    while index < len(groups):
        if not (groups[index].alternative and groups[index].lines and groups[index - 1].lines):
            index += 1
            continue
        run = [groups[index - 1]]
        while index < len(groups) and groups[index].alternative and groups[index].lines:
            run.append(groups[index])
            index += 1
        labels: list[str] = []
        for position, group in enumerate(run, start=1):
            label = group.heading or f"Option {position}"
            labels.append(label if label not in labels else f"{label} ({position})")
            found.update(dict.fromkeys(group.lines, labels[-1]))
    return found


def _groups(comments: list[tuple[int, str]], commands: Sequence[Command]) -> list[_Group]:
    """The block's commands and heading comments in line order, grouped under their headings."""
    inside = {at for c in commands if "\n" in c.text for at in range(c.line + 1, c.line + c.text.count("\n") + 1)}
    starts = {command.line for command in commands}
    events = sorted([(c.line, "") for c in commands] + [(at, text) for at, text in comments if at not in starts])
    groups = [_Group(None, False)]
    for at, stripped in events:
        if not stripped:
            groups[-1].lines.append(at)
            continue
        if at in inside:
            continue
        heading = stripped.lstrip("#-/ ").rstrip(":").strip()
        alternative = bool(_OR.match(heading))
        if alternative or groups[-1].lines:
            groups.append(_Group(heading[:1].upper() + heading[1:] or None, alternative))
        elif groups[-1].heading is None:
            groups[-1].heading = heading or None  # the first of several comment lines names the group
    return groups
