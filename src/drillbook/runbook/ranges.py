"""Line ranges of a runbook: the follow-up sections whose steps never count toward MTTR, and an incident read
from a range of lines a drill names (``drills.yaml``) when the document's structure does not say it.

Follow-up is what a team does once service is back: Prevention, Post-Incident, Lessons learned, Action items,
Long-term fixes, the post-mortem. Its steps are still read (and shown), but a projected MTTR that counted them
would charge the response for the retrospective.
"""

from __future__ import annotations

import re
from dataclasses import replace

from drillbook.runbook.markdown import Block, Section, parse_blocks, split_sections
from drillbook.runbook.model import Incident, Runbook, Step
from drillbook.runbook.parser import _document_facts, _incident  # the parser's own reading, reused on a range
from drillbook.runbook.sections import Candidate, clean_inline

FOLLOW_UP = re.compile(
    r"^(?:\d+[.)]\s*|step\s+\d+\s*[:.]\s*)?(?:prevention|preventing|preventive|post[- ]?incident|post[- ]?mortem|"
    r"retrospective|lessons?(?: learned)?|action items|follow[- ]?ups?|long[- ]term|after the incident|"
    r"root cause analysis)\b",
    re.IGNORECASE,
)
"""Headings and step labels of follow-up work (never response time)."""


def _sections(runbook: Runbook) -> list[Section]:
    text = runbook.path.read_text(encoding="utf-8", errors="replace")
    return split_sections(parse_blocks(text))


def follow_up_ranges(sections: list[Section]) -> list[tuple[int, int]]:
    """``(first, last)`` lines of every follow-up section, sub-sections included (``last`` may be huge)."""
    ranges: list[tuple[int, int]] = []
    for position, section in enumerate(sections):
        if section.level == 0 or not FOLLOW_UP.match(clean_inline(section.title)):
            continue
        end = next((s.line - 1 for s in sections[position + 1 :] if s.level <= section.level), 10**9)
        ranges.append((section.line, end))
    return ranges


def follow_up_steps(runbook: Runbook, incident: Incident) -> frozenset[int]:
    """Numbers of the incident's steps that are follow-up: under a follow-up heading, or labelled as one.

    Only a heading or label that *names* follow-up work counts ("Prevention", "Post-Incident Review", "Long-term
    fix"); a response step that mentions it ("Prevent a cascade: scale down") does not.

    Reads the runbook file again for its headings; a runbook that cannot be read has no follow-up steps.
    """
    try:
        ranges = follow_up_ranges(_sections(runbook))
    except OSError:
        ranges = []
    return frozenset(step.number for step in incident.steps if _in(step, ranges) or FOLLOW_UP.match(step.title))


def _in(step: Step, ranges: list[tuple[int, int]]) -> bool:
    return any(first <= step.line <= last for first, last in ranges)


def incident_from_lines(
    runbook: Runbook, first: int, last: int, *, incident_id: str, title: str | None = None
) -> Incident:
    """The incident written on lines ``first``..``last``, read as the parser reads a section it recognises.

    Headings inside the range become step labels (Diagnosis, Resolution, "Option 2"), as sub-sections of an
    incident do. The incident keeps the runbook's document-level alerts and time targets when it states none.
    """
    sections = _sections(runbook)
    doc_slos, doc_targets, doc_alerts, severity_slas = _document_facts(sections)
    del doc_slos  # SLOs are chosen per drill from the incident, then the document (see slo.checks)
    blocks: list[Block] = []
    heading: Section | None = None
    for section in sections:
        if section.level > 0 and first <= section.line <= last:
            if heading is None and section.line == first:
                heading = section
            else:
                blocks.append(Block("paragraph", f"**{clean_inline(section.title)}**:", section.line))
        blocks.extend(b for b in section.blocks if first <= b.line <= last)
    name = title or (clean_inline(heading.title) if heading is not None else incident_id)
    candidate = Candidate(incident_id, name, first, None, blocks, strong_id=True)
    return replace(_incident(candidate, doc_alerts, doc_targets, severity_slas), id=incident_id)
