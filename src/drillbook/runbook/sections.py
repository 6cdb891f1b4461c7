"""Which heading sections are incidents, what they are called, and the labelled fields they carry.

Ids: ``RB-007`` and ``P1`` when the heading starts with them; ``Incident-2`` for "Incident 2: …"; the alert
name for "1. HighErrorRate (P1)"; otherwise a slug of the heading (``high-error-rate-alert``). Lookups
through :meth:`Runbook.incident` ignore case and treat spaces and hyphens alike, and also accept the
heading title, so ``incident "Incident 2"`` and ``incident "High Error Rate Alert"`` both resolve.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from drillbook.runbook.commands import has_commands, normalise_language
from drillbook.runbook.markdown import Block, Section

_EXCLUDED = re.compile(
    r"table of contents|overview|contact|escalation|template|related|timeline|root cause|how to use|announc|"
    r"prevention|action items|lessons|purpose|quick reference|reference|resources|prerequisites|appendix|glossary|"
    r"changelog|critical endpoints|service level|post-incident|incident lifecycle|incident commands|communication|"
    r"key metrics|dashboard quer|(?P<slo>slo)"
)
"""Words of a heading that is no incident (matched on the lower-cased title: one case-sensitive scan is many times
faster than an IGNORECASE one, and branches that start with a literal let the engine skip ahead)."""
_EXCLUDED_TITLES = frozenset(
    {"contents", "summary", "objectives", "targets", "goals", "resolution", "metrics", "logs", "redis", "database"}
)
_EXCLUDED_STARTS = ("communicat", "version")
_SLO_WORD = re.compile(r"\bslos?\b")


def _excluded(title: str) -> bool:
    """A heading that is no incident: Overview, Contacts, Escalation, SLOs, a lone "Metrics" or "Redis"…"""
    lowered = title.lower()
    if lowered in _EXCLUDED_TITLES or lowered.startswith(_EXCLUDED_STARTS):
        return True
    # "slo" counts only as a word: "SLOs", not "Slow queries".
    return any(found.group("slo") is None or _SLO_WORD.search(lowered) for found in _EXCLUDED.finditer(lowered))


_INCIDENT_WORDS = re.compile(
    r"alert|incident|issue|fail|outage|down\b|exhaust|leak|crash|slow|high|error|lag\b|attack|loss|breach|"
    r"not starting|dropping|disconnect|timeout|unavailable|degrad|procedure|recovery|rollback|emergency|"
    r"suspicious|vulnerab",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^\s*\*\*([^*]{1,60}?)\*\*\s*:?\s*(.*)$")
_PLAIN_LABEL = re.compile(
    r"^\s*(symptoms?|severity|priority|trigger|alert|time to resolve|response sla|mttr|rto)\s*:\s*(.*)$", re.IGNORECASE
)
_NUMBERED_COMMENT = re.compile(r"^\s*#\s*(\d{1,3})[.)]\s+(\S.*)$", re.MULTILINE)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_FIELD_LABELS = (
    "symptom", "trigger", "alert", "time to resolve", "response sla", "severity", "mttr", "rto", "fires when",
)  # fmt: skip


_CONTAINER = re.compile(
    r"(?:procedures|incidents|alerts|issues|problems|scenarios|playbooks|runbooks|troubleshooting|tasks|operations|"
    r"faqs?|recipes|emergencies|failures|responses|guides?)\s*$|how-?tos?$|"
    r"common tasks|maintenance|useful commands|cheat ?sheet|handbook|(?P<word>runbook|operations|ops)"
)
"""A chapter heading whose sub-sections are the incidents ("Deployment Procedures", "Common issues"); matched on the
lower-cased title. Whole words where the words need it: see :func:`_container`."""
_CONTAINER_STARTS = re.compile(r"^(?:common|known|frequent|other)\b")
_CONTAINER_WORDS = re.compile(r"\b(?:runbook|operations|ops)\b")


def _container(title: str) -> bool:
    lowered = title.lower()
    if _CONTAINER_STARTS.match(lowered):
        return True
    # "ops" and "runbook" count only as words: "Ops runbook", not "Stops".
    return any(
        found.group("word") is None or _CONTAINER_WORDS.search(lowered) for found in _CONTAINER.finditer(lowered)
    )


_PHASE = re.compile(
    r"^(?:\d+[.)]\s*)?(?:step\s*\d+|option\s*\w+|alternative\s*\w+|scenario\s*\w+|case\s*\w+|resolution|solution|"
    r"mitigat|remedia|diagnos|investigat|triage|symptoms?|signs|impact|meaning|description|summary|context|"
    r"background|causes?\b|root cause|fix|verif|validat|confirm|check|done when|first|initial|immediate|"
    r"short[- ]term|long[- ]term|next steps|follow[- ]?up|recover|rollback|roll back|restore|escalat|prevent|"
    r"notes?\b|before you|resolve|detect|dashboards?|queries|commands|logs\b|metrics\b|actions?\b|what to|how to|"
    r"steps\b|response\b|workaround|clean ?up|afterwards|aftermath|timeline|phase\s*\d|\d+\s*[-–]\s*\d+\s*min|"
    r"find|look|inspect|identify|collect|gather|free|scale|restart|drain|cordon|failover|fail over|switch|open|"
    r"run|stop|start|kill|terminate|increase|decrease|raise|lower|add|remove|delete|clear|flush|rotate|update|"
    r"upgrade|apply|revert|reset|enable|disable|block|notify|page|declare|assess|monitor|watch|wait|test|"
    r"measure|review|determine|debug|troubleshoot|examine|analy[sz]e|compare|capture|preserve|purge|rebuild|"
    r"repair|reclaim|expand|resize|move|promote|reboot|reload|redeploy|fallback|fall back|bring|get|make|"
    r"tell|announce|contain|revoke|replace|re-?create|recreate|force|retry|pause|resume|suspend|isolate|"
    r"quarantine|escalate|hand ?over|wrap up|close|if\b|when\b|option|expected|output|"
    r"example|sample|overview|quick|tl;?dr|about|who|owner|useful|reference|related|see also|links?\b)",
    re.IGNORECASE,
)
_SITUATION = re.compile(
    r"procedure|runbook|playbook|fail(?:ed|ure|ures|ing(?! over| back)|s)?\b|outage|down\b|exhaust|leak|crash|"
    r"slow|high|low|error|lag\b|attack|loss|"
    r"^(?!after\b|before\b|during\b|post\b|when\b|if\b)\w[\w ]*\s(?:recovery|restore|rotation|migration|deployment|"
    r"failover|cutover|upgrade)$|"
    r"breach|full\b|pressure|not |unavailable|degrad|stuck|timeout|expired|expir|broken|corrupt|spike|saturat|"
    r"emergency|suspicious|vulnerab|alert|incident|issue|red\b|unhealthy|oom|5\d\d\b|4\d\d\b|refused",
    re.IGNORECASE,
)


_NOT_A_RUNBOOK = re.compile(
    r"^(?:post-?mortem|retrospective|incident report|rca)\b|contacts|on-call (?:hours|rotation|schedule)|glossary|"
    r"\breference\b|\bdashboards?\b|architecture|onboarding|faq",
    re.IGNORECASE,
)


_NUMBERED = re.compile(r"^\d+[.)]\s*")
_PHASE_WORD = re.compile(r"^(?:procedure|part|phase|stage|resolution|option|scenario|step)\s*#?\w{1,3}\b", re.I)
_PROCEDURE_TITLE = re.compile(r"^(?:the\s+)?(?:procedure|steps|runbook|playbook|instructions)\s*:?$", re.IGNORECASE)
_PROCEDURE_WORD = re.compile(r"procedure|runbook|playbook", re.IGNORECASE)
_ALERT_NAME = re.compile(r"^[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+$")
_ALERT_TITLE = re.compile(r"^([A-Z][a-z]+(?:[A-Z][a-z0-9]*)+)\s*(?:\([^)]*\))?$")
_SEVERITY = re.compile(r"\b(P[0-5]|SEV-?[0-5])\b")
_SEVERITY_ID = re.compile(r"^(P[0-5]|SEV-?[0-5])\b")
_TICKET_ID = re.compile(r"^(RB|INC|IR|SOP)[-_ ]?(\d+)\b", re.IGNORECASE)
_NUMBERED_ID = re.compile(r"^(Incident|Alert|Issue|Scenario)\s+#?(\d+)\b", re.IGNORECASE)


@dataclass
class Candidate:
    """A section that reads as an incident, with its blocks (sub-sections merged in for numbered ids)."""

    id: str
    title: str
    line: int
    severity: str | None
    blocks: list[Block] = field(default_factory=list)
    strong_id: bool = False


def clean_inline(text: str) -> str:
    """Inline markdown reduced to plain words: emphasis, code ticks and link targets removed."""
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    return " ".join(text.replace("**", "").replace("`", "").split())


def labels(block: Block) -> tuple[tuple[str, str, int], ...]:
    """``**Label**: value`` pairs of a paragraph with their source lines (label lower-cased, colon dropped)."""
    if "**" not in block.text and ":" not in block.text:
        return ()
    found: list[tuple[str, str, int]] = []
    for offset, raw in enumerate(block.text.splitlines()):
        # "**Fix**: …" needs the stars, "Symptoms: …" the colon: most lines have neither.
        match = ("**" in raw and _LABEL.match(raw)) or (":" in raw and _PLAIN_LABEL.match(raw)) or None
        if match:
            label = match.group(1).strip().rstrip(":").casefold()
            found.append((label, match.group(2).strip(), block.line + offset))
    return tuple(found)


def numbered_comments(code: str) -> bool:
    """Whether a code block has ``# N. title`` comments (one block holding a whole procedure)."""
    if _NUMBERED_HASH.search(code) is None:
        return False  # found by its literal "#" quickly: most blocks have none
    return _NUMBERED_COMMENT.search(code) is not None


_NUMBERED_HASH = re.compile(r"#\s*\d{1,3}[.)]\s")
"""What every match of ``_NUMBERED_COMMENT`` contains."""


def find_incidents(sections: list[Section]) -> list[Candidate]:
    """The incident sections in document order, with unique ids.

    A sub-section whose title is one of its parent's phases (Diagnosis, Mitigation, "Option 2", "Step 3",
    "Check the pods") belongs to the incident above it and never becomes an incident of its own; so do all
    sub-sections of an ``RB-007``-style incident. When the only sections that read as incidents are phases of
    the document's top heading, the document is one incident (see :func:`whole_document`).
    """
    found: list[Candidate] = []
    owner: Candidate | None = None
    owner_level = 0
    situation = _Situations()  # each title is asked about once per section below it: answer it once
    for position, section in enumerate(sections[1:], start=1):
        if owner is not None and section.level > owner_level and (owner.strong_id or not situation(section.title)):
            owner.blocks.append(Block("paragraph", f"**{clean_inline(section.title)}**:", section.line))
            owner.blocks.extend(section.blocks)  # sub-sections belong to the incident above them
            continue
        owner = None
        candidate = _candidate(section, functools.partial(_phase_blocks, sections, position, situation))
        if candidate is None:
            continue
        found.append(candidate)
        owner, owner_level = candidate, section.level
    tops = [s for s in sections if s.level == 1]
    single = len(tops) == 1 and not _container(clean_inline(tops[0].title))
    if found and single and not any(_situation_title(c.title) for c in found):
        return []  # "## Diagnose", "## Fix" under "# Edge proxy returns 502": one incident, the document's
    if found and all(is_phase(c.title) and not _identify(c.title)[2] for c in found):
        return []
    seen: dict[str, int] = {}
    for candidate in found:
        key = candidate.id.casefold()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            candidate.id = f"{candidate.id}-{seen[key]}"
    return found


def is_phase(title: str) -> bool:
    """Whether a heading names a phase of an incident (Diagnosis, Option 2, Step 3, "Check the pods")."""
    return _is_phase(clean_inline(title))


def _is_phase(clean: str) -> bool:
    bare = _NUMBERED.sub("", clean)
    if _PHASE_WORD.match(bare) or _PROCEDURE_TITLE.match(bare):
        return True
    if _strong_id(bare) or _PROCEDURE_WORD.search(bare):
        return False
    return bool(_PHASE.match(bare))


def _situation_title(title: str) -> bool:
    """A heading that names a situation of its own: an id, an alert rule name, or words such as "down", "lag"."""
    clean = clean_inline(title)
    if _strong_id(clean) or _ALERT_TITLE.match(_NUMBERED.sub("", clean)):
        return True  # what _identify calls a strong id, or the alert rule name it takes for the id
    return not _is_phase(clean) and bool(_SITUATION.search(clean))


def _strong_id(title: str) -> bool:
    """Whether :func:`_identify` finds an id in the title itself (``RB-007``, ``P1``, ``Incident 2``)."""
    return bool(_TICKET_ID.match(title) or _SEVERITY_ID.match(title) or _NUMBERED_ID.match(title))


def whole_document(sections: list[Section], title: str) -> list[Candidate]:
    """A document about one incident ("# Redis down" then "## Diagnosis", "## Fix") as that one incident.

    Used only when no section reads as an incident on its own but the document has commands or numbered steps;
    sub-headings become step labels.
    """
    blocks: list[Block] = []
    for section in sections:
        if section.level > 1:
            blocks.append(Block("paragraph", f"**{clean_inline(section.title)}**:", section.line))
        blocks.extend(section.blocks)
    if not any(b.kind == "fence" or (b.items and b.items[0].ordered) for b in blocks):
        return []
    if _NOT_A_RUNBOOK.search(title):
        return []
    line = next((s.line for s in sections if s.level == 1), 1)
    return [Candidate(slug(title) or "incident", title, line, None, blocks)]


class _Situations:
    """:func:`_situation_title`, answered once per title within one document."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}

    def __call__(self, title: str) -> bool:
        known = self._known.get(title)
        if known is None:
            known = self._known[title] = _situation_title(title)
        return known


def _phase_blocks(sections: list[Section], position: int, situation: _Situations) -> list[Block]:
    """The blocks of the phase sub-sections right under ``sections[position]`` (its Diagnose, Remedy, …)."""
    level = sections[position].level
    found: list[Block] = []
    if _container(clean_inline(sections[position].title)):
        return found  # "Deployment Procedures" is a chapter: its sub-sections are the procedures
    for section in sections[position + 1 :]:
        if section.level <= level or situation(section.title):
            break
        found.extend(section.blocks)
    return found


def _runs(block: Block) -> bool:
    return has_commands(block.text, normalise_language(block.info))


def _candidate(section: Section, below: Callable[[], list[Block]] = list) -> Candidate | None:
    """The section as an incident, or ``None``; ``below`` gives its phase sub-sections' blocks, asked for only when
    the section's own title and fields do not decide."""
    title = clean_inline(section.title)
    if not title or _excluded(title) or (section.level == 1 and _NOT_A_RUNBOOK.search(title)):
        return None
    ident, severity, strong = _identify(title)
    found = Candidate(ident, title, section.line, severity, list(section.blocks), strong)
    if strong or any(
        label.startswith(_FIELD_LABELS) for b in section.blocks if b.kind == "paragraph" for label, _, _ in labels(b)
    ):
        return found
    fences = [b for b in (*section.blocks, *below()) if b.kind == "fence" and _runs(b)]
    if any(b.items or numbered_comments(b.text) for b in fences):
        return found  # numbered steps
    if fences and (_ALERT_NAME.match(ident) or _INCIDENT_WORDS.search(title)):
        return found
    return None


def _identify(title: str) -> tuple[str, str | None, bool]:
    severity_match = _SEVERITY.search(title)
    severity = severity_match.group(1) if severity_match else None
    if match := _TICKET_ID.match(title):
        return f"{match.group(1).upper()}-{match.group(2)}", severity, True
    if match := _SEVERITY_ID.match(title):
        return match.group(1), match.group(1), True
    if match := _NUMBERED_ID.match(title):
        return f"{match.group(1).capitalize()}-{match.group(2)}", severity, True
    bare = _NUMBERED.sub("", title)
    if match := _ALERT_TITLE.match(bare):
        return match.group(1), severity, False  # an alert rule name such as HighErrorRate
    return slug(bare) or "incident", severity, False


def slug(text: str) -> str:
    """Lower-case words joined by hyphens: ``"High Error Rate Alert"`` → ``high-error-rate-alert``."""
    return "-".join(_SLUG_WORD.findall(text.casefold()))


_SLUG_WORD = re.compile(r"[a-z0-9]+")
