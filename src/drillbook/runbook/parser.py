"""Runbook markdown to the typed model: :func:`parse_runbook` for files, :func:`parse_text` for strings."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import yaml

from drillbook.errors import RunbookParseError
from drillbook.runbook.markdown import Block, Section, parse_blocks, split_sections
from drillbook.runbook.model import (
    AlertTrigger,
    Incident,
    ParseNote,
    Runbook,
    Slo,
    Step,
    TimeTarget,
    TimeTargetKind,
)
from drillbook.runbook.sections import Candidate, clean_inline, find_incidents, labels, whole_document
from drillbook.runbook.slos import duration_seconds, parse_alert_text, parse_slo_text
from drillbook.runbook.steps import extract_steps

MAX_RUNBOOK_BYTES = 4_000_000
"""Largest runbook read: the biggest real runbooks are a few hundred kB; more is a wrong path or a device."""


class RunbookInternalError(RunbookParseError):
    """The parser itself failed on this input: a drillbook bug, reported with the file rather than a traceback."""


_TARGET_LABEL = re.compile(
    r"^(?:document\s+|overall\s+|default\s+)?"
    r"(?:(?P<response>response(?: sla| time| target)?|time to (?:respond|acknowledge)|"
    r"acknowledge(?:ment)?(?: time| within)?|ack(?: time)?|page response|first response)|"
    r"(?P<rto>rto|recovery time objective|recovery objective)|"
    r"(?P<mttr>mttr|mean time to (?:recover|restore|repair|resolve))|"
    r"(?P<resolve>time to (?:resolve|restore|recover|mitigate|fix)|resolution(?: time| target| sla)?|"
    r"expected (?:time|duration)|estimated time|target(?: time)?|time ?box|time budget|resolve(?: within)?|eta|"
    r"mitigat\w*|restore(?: within)?|recover(?:y)?(?: time| target)?))(?:\s+(?:target|objective|goal|time))?$",
    re.IGNORECASE,
)
_INLINE_TARGET = re.compile(
    r"\b(time to (?:resolve|restore|recover|mitigate)|expected time|resolution(?: time| target)?|mttr|rto)\b"
    r"(?:\s+(?:target|objective|goal))?\s*(?:\([^)]*\))?\s*[:=]\s*(?:<\s*|within\s+|under\s+|about\s+)?"
    r"(\d[^.;,\n]{0,30})",
    re.IGNORECASE,
)
_WITHIN_TARGET = re.compile(
    r"\b(?:resolve[sd]?|restore[sd]?|finish(?:ed)?|mitigate[sd]?|recover(?:ed)?|complete[sd]?|patched|resolution)\b"
    r"[^.;]{0,60}?\bwithin\s+(\d+(?:\s*[-–]\s*\d+)?\s*(?:minutes?|mins?|hours?|hrs?|h|m))\b",
    re.IGNORECASE,
)
_TIMED = re.compile(r"\d\s*(?:-|–|to)?\s*\d*\s*(?:min|m\b|h\b|hour|hr|s\b|sec)", re.IGNORECASE)
_BOXED = re.compile(
    r"\((?:first|within|by|until|up to|in the first|next)\s+(\d+\s*(?:minutes?|mins?|hours?|hrs?|h|m))\b[^)]*\)|"
    r"^(?:immediate|short[- ]term|mitigation|containment)\b[^(]*\((\d+\s*(?:minutes?|mins?|hours?|hrs?|h|m))\)",
    re.IGNORECASE,
)
_HEADING_TARGET = re.compile(
    r"\((?:within|<|under|in|target:?|resolve (?:with)?in)?\s*(\d+(?:\s*[-–]\s*\d+)?\s*"
    r"(?:minutes?|mins?|m|hours?|hrs?|h))\)",
    re.IGNORECASE,
)
_PHASE_BOX = re.compile(
    r"^\s*(?:\*\*|#+\s*)?(?:T\s*\+\s*)?\d+\s*(?:min(?:utes?)?\s*)?(?:-|–|—|to)\s*(?:T\s*\+\s*)?(\d+)\s*"
    r"(min(?:utes?)?|m|h(?:ours?)?)\b",
    re.IGNORECASE,
)
_STEP_DURATION = re.compile(r"\((?:~|about\s+)?(\d+)\s*(min(?:utes?)?|m|s(?:ec(?:onds?)?)?|h(?:ours?)?)\)\s*:?$", re.I)


_PARENTHESISED = re.compile(r"\s*\([^)]*\)")
_SLO_SECTION = re.compile(r"\bSLOs?\b|service level|objectives", re.IGNORECASE)


def _target_kind(label: str) -> TimeTargetKind | None:
    bare = _PARENTHESISED.sub("", label) if "(" in label else label
    match = _TARGET_LABEL.match(bare.strip().rstrip(":").strip())
    if match is None:
        return None
    if match.group("response"):
        return TimeTargetKind.RESPONSE_SLA
    if match.group("rto"):
        return TimeTargetKind.RTO
    if match.group("mttr"):
        return TimeTargetKind.MTTR
    return TimeTargetKind.TIME_TO_RESOLVE


_METRIC_WORDS = {
    "error_rate": ("error",),
    "memory": ("memory", "oom"),
    "cpu": ("cpu",),
    "latency": ("latency", "slow", "response time"),
    "db_latency": ("slow database", "slow quer", "database latency"),
    "db_connections": ("database connection", "db connection", "connection pool"),
    "websocket_connections": ("websocket connection",),
}


def parse_runbook(path: Path | str) -> Runbook:
    """Read and parse a runbook file.

    Raises:
        RunbookParseError: the file cannot be read, is binary, or holds no text.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_RUNBOOK_BYTES + 1)  # never all of /dev/zero
    except OSError as exc:
        raise RunbookParseError(
            f"expected a readable markdown file, got {exc.strerror or exc}; check the path and permissions",
            path=path,
        ) from exc
    if len(data) > MAX_RUNBOOK_BYTES:
        raise RunbookParseError(
            f"expected a runbook of at most {MAX_RUNBOOK_BYTES // 1_000_000} MB, got a larger file; "
            "split it into one runbook per service",
            path=path,
            line=1,
        )
    nul = data.find(b"\x00", 0, 65536)
    if nul >= 0:
        raise RunbookParseError(
            "expected markdown text, found binary data (a NUL byte); pass the runbook's .md file",
            path=path,
            line=data.count(b"\n", 0, nul) + 1,
        )
    try:
        text = data.decode("utf-8")
        notes: tuple[ParseNote, ...] = ()
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"invalid UTF-8 (byte 0x{data[exc.start]:02x}) read as U+FFFD; save the file as UTF-8"
        notes = (ParseNote("invalid-utf8", line, message),)
    runbook = parse_text(text, path)
    return replace(runbook, notes=notes + runbook.notes) if notes else runbook


def parse_text(text: str, path: Path | str = "<text>") -> Runbook:
    """Parse runbook markdown held in a string.

    Raises:
        RunbookParseError: the text is empty (or whitespace only), or the parser failed on it.
    """
    path = Path(path)
    if len(text) > MAX_RUNBOOK_BYTES:
        raise RunbookParseError(
            f"expected a runbook of at most {MAX_RUNBOOK_BYTES // 1_000_000} MB of text; split it", path=path, line=1
        )
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise RunbookParseError(
            "expected a runbook with headings and steps, got an empty document; write the runbook first",
            path=path,
            line=1,
        )
    try:
        return _parse(text, path)
    except RecursionError as exc:
        raise RunbookParseError(
            "the markdown nests too deeply to read; flatten deeply nested lists or quotes", path=path, line=1
        ) from exc
    except Exception as exc:  # a parser bug must still reach the user as file:line, not a traceback
        raise RunbookInternalError(
            f"drillbook could not parse this runbook ({type(exc).__name__}: {exc}); please report it with the file",
            path=path,
            line=1,
        ) from exc


_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)


def _unclosed_fence(text: str) -> ParseNote | None:
    """The code block still open at the end of the file, if any (CommonMark runs it to the end)."""
    if "```" not in text and "~~~" not in text:
        return None
    opener: re.Match[str] | None = None
    for match in _FENCE_LINE.finditer(text):
        if opener is None:
            opener = match
        elif match.group(1)[0] == opener.group(1)[0] and len(match.group(1)) >= len(opener.group(1)):
            end = text.find("\n", match.end())
            if not text[match.end() : end if end >= 0 else len(text)].strip():
                opener = None
    if opener is None:
        return None
    line = text.count("\n", 0, opener.start()) + 1
    marker = opener.group(1)
    message = (
        f"the code block opened here with {marker} is never closed, so the rest of the file is read as code; "
        f"add a line of {marker} where the block ends"
    )
    return ParseNote("unclosed-fence", line, message)


def _parse(text: str, path: Path) -> Runbook:
    unclosed = _unclosed_fence(text)
    metadata, text = _front_matter(text)
    sections = split_sections(parse_blocks(text))
    doc_slos, doc_targets, doc_alerts, severity_slas = _document_facts(sections)
    title = metadata.get("title") or next((clean_inline(s.title) for s in sections if s.level == 1), "") or path.stem
    candidates = find_incidents(sections) or whole_document(sections, title)
    incidents = [_incident(candidate, doc_alerts, doc_targets, severity_slas) for candidate in candidates]
    return Runbook(
        path=path,
        title=title,
        incidents=tuple(incidents),
        slos=tuple(doc_slos),
        time_targets=tuple(doc_targets),
        metadata=metadata,
        alerts=tuple(doc_alerts),
        notes=(unclosed,) if unclosed is not None else (),
    )


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    if text.partition("\n")[0].strip() != "---":
        return {}, text  # most runbooks: no front matter, and no need to split the whole file
    lines = text.split("\n")
    for end in range(1, min(len(lines), 400)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        return {}, text
    try:
        loaded = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError:
        loaded = None
    metadata = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
    # Blank the front matter rather than cutting it, so source lines stay true.
    return metadata, "\n" * (end + 1) + "\n".join(lines[end + 1 :])


def _document_facts(
    sections: list[Section],
) -> tuple[list[Slo], list[TimeTarget], list[AlertTrigger], dict[str, TimeTarget]]:
    slos: list[Slo] = []
    targets: list[TimeTarget] = []
    alerts: list[AlertTrigger] = []
    severity_slas: dict[str, TimeTarget] = {}
    for section in sections:
        is_slo_section = bool(_SLO_SECTION.search(section.title))
        for block in section.blocks:
            if block.kind == "row":
                _table_row(block, targets, alerts, severity_slas)
            elif block.kind == "paragraph" and not is_slo_section and _names_document_target(block.text):
                for label, raw, line in labels(block):
                    kind = _target_kind(label)
                    seconds = duration_seconds(clean_inline(raw))
                    everywhere = kind in (TimeTargetKind.RTO, TimeTargetKind.MTTR) or label.startswith("default")
                    if everywhere and kind is not TimeTargetKind.RESPONSE_SLA and seconds is not None:
                        targets.append(TimeTarget(TimeTargetKind.MTTR, clean_inline(raw), seconds, line))
            elif block.kind == "paragraph" and is_slo_section:
                for slo in _slo_sentences(clean_inline(block.text), block.line):
                    slos.append(slo)
                    if slo.metric == "mttr":
                        targets.append(TimeTarget(TimeTargetKind.MTTR, slo.text, slo.threshold, slo.line))
    return slos, targets, alerts, severity_slas


def _names_document_target(text: str) -> bool:
    """Whether a paragraph may state a document-wide RTO, MTTR or default time to resolve (most do not)."""
    lowered = text.lower()
    return "rto" in lowered or "mttr" in lowered or "default time to" in lowered


def _slo_sentences(text: str, line: int) -> list[Slo]:
    """One paragraph may state several objectives: "Response Time: P95 <500ms for API, P95 <100ms for DB"."""
    label, colon, rest = text.partition(":")
    pieces = [p.strip() for p in re.split(r",\s+|;\s+", rest)] if colon else [text]
    found: list[Slo] = []
    for piece in pieces:
        slo = parse_slo_text(f"{label}: {piece}" if colon else piece, line)
        if slo is not None:
            found.append(slo)
    return found


def _table_row(
    block: Block, targets: list[TimeTarget], alerts: list[AlertTrigger], severity_slas: dict[str, TimeTarget]
) -> None:
    header = [clean_inline(h).casefold() for h in block.header]
    cells = [clean_inline(c) for c in block.cells]
    if len(cells) < 2 or len(header) != len(cells):
        return
    name = cells[0]
    for index, head in enumerate(header):
        cell = cells[index]
        seconds = duration_seconds(cell)
        if ("rto" in head or "recovery time" in head) and seconds is not None:
            targets.append(TimeTarget(TimeTargetKind.RTO, f"{name}: {cell}", seconds, block.line))
        elif re.search(r"resol|resolve|restore", head) and re.search(r"sev|priority|level", header[0]) and seconds:
            key = re.search(r"\b(P[0-5]|SEV-?[0-5])\b", name, re.IGNORECASE)
            if key:
                resolve = TimeTarget(TimeTargetKind.TIME_TO_RESOLVE, f"{name}: {cell}", seconds, block.line)
                severity_slas[f"resolve:{key.group(1).upper().replace('-', '')}"] = resolve
        elif "response" in head and "severity" in header[0] and seconds is not None:
            target = TimeTarget(TimeTargetKind.RESPONSE_SLA, f"{name}: {cell}", seconds, block.line)
            targets.append(target)
            if match := re.search(r"\b(P[0-5]|SEV-?[0-5])\b", name):
                severity_slas[match.group(1).upper().replace("-", "")] = target
        elif head.startswith("threshold") and "metric" in header[0]:
            alert = parse_alert_text(f"{name} {cell}", block.line, name=name)
            if alert is not None:
                alerts.append(alert)


_TITLE_ID = re.compile(r"^(?:P[0-5]|SEV-?[0-5]|RB-\d+|Incident \d+|\d+\.)\s*:?\s*")
_SEVERITY_CELL = re.compile(r"\s*(P[0-5]|SEV-?[0-5])\s*")
_COMPARED = re.compile(r"[<>≤≥]|\d\s*%")


def _incident(
    candidate: Candidate,
    doc_alerts: list[AlertTrigger],
    doc_targets: list[TimeTarget],
    severity_slas: dict[str, TimeTarget],
) -> Incident:
    severity = candidate.severity
    symptoms: list[tuple[str, int]] = []
    alerts: list[AlertTrigger] = []
    slos: list[Slo] = []
    target: TimeTarget | None = None
    bare_title = _TITLE_ID.sub("", candidate.title)
    heading_alert = parse_alert_text(bare_title, candidate.line, name=candidate.title)
    if heading_alert is not None:
        alerts.append(heading_alert)
        if heading_alert.slo is not None:
            slos.append(heading_alert.slo)
    collecting = False
    response: TimeTarget | None = None
    within: TimeTarget | None = None
    heading = _HEADING_TARGET.search(candidate.title)
    if heading is not None and (seconds := duration_seconds(heading.group(1))) is not None:
        target = TimeTarget(TimeTargetKind.TIME_TO_RESOLVE, heading.group(1), seconds, candidate.line)
    phase_ends: list[tuple[float, str, int]] = []
    durations: list[float] = []
    for block in candidate.blocks:
        if block.kind == "row" and len(block.cells) >= 2:
            kind = _target_kind(clean_inline(block.cells[0]))
            seconds = duration_seconds(clean_inline(block.cells[1]))
            if kind is not None and seconds is not None:
                found_target = TimeTarget(kind, clean_inline(block.cells[1]), seconds, block.line)
                if kind is TimeTargetKind.RESPONSE_SLA:
                    response = response or found_target
                elif target is None:
                    target = found_target
            else:
                for cell in block.cells:
                    if (severity_cell := _SEVERITY_CELL.fullmatch(clean_inline(cell))) is not None:
                        severity = severity or severity_cell.group(1)
            continue
        if block.kind != "paragraph":
            collecting = False
            continue
        timed = _TIMED.search(block.text) is not None  # most paragraphs name no duration: skip the scans
        first_line = clean_inline(block.text.split("\n", 1)[0]) if timed else ""
        if not timed:
            pass
        elif (box := _PHASE_BOX.match(first_line)) is not None and not block.items:
            end = duration_seconds(f"{box.group(1)} {box.group(2)}")
            if end is not None:
                phase_ends.append((end, first_line.split(":")[0][:40], block.line))
        elif (boxed := _BOXED.search(first_line)) is not None and not block.items:
            end = duration_seconds(boxed.group(1) or boxed.group(2))
            if end is not None:
                phase_ends.append((end, first_line.rstrip(":")[:40], block.line))
        elif (took := _STEP_DURATION.search(first_line.rstrip(":").rstrip("*").strip())) is not None and (
            not block.items or (block.items[0].ordered and block.items[0].line == block.line)
        ):
            durations.append(duration_seconds(f"{took.group(1)} {took.group(2)}") or 0.0)
        if collecting and block.items and not block.items[0].ordered:
            symptoms.append((clean_inline(block.text), block.line))
            continue
        collecting = False
        for label, raw, line in labels(block):
            value = clean_inline(raw)
            kind = _target_kind(label)
            if label.startswith("symptom"):
                collecting = not value
                symptoms.extend((v.strip(), line) for v in re.split(r",\s+(?![^()]*\))", value) if v.strip())
            elif label in ("alert", "trigger", "alert condition", "condition") and value:
                alert = parse_alert_text(raw, line, name=candidate.id)
                if alert is None:
                    symptoms.append((value, line))
                else:
                    alerts.append(alert)
            elif label in ("severity", "priority") and value:
                severity = value
            elif kind is not None and (seconds := duration_seconds(value)) is not None:
                if kind is TimeTargetKind.RESPONSE_SLA:
                    response = response or TimeTarget(kind, value, seconds, line)
                elif target is None:
                    target = TimeTarget(kind, value, seconds, line)
        whole = clean_inline(block.text) if timed else ""
        if target is None and timed and (inline := _INLINE_TARGET.search(whole)) is not None:
            seconds = duration_seconds(inline.group(2))
            if seconds is not None:
                line = block.line + block.text.count("\n", 0, max(block.text.find(inline.group(1)), 0))
                target = TimeTarget(TimeTargetKind.TIME_TO_RESOLVE, inline.group(2).strip(), seconds, line)
        if within is None and timed and (said := _WITHIN_TARGET.search(whole)) is not None:
            seconds = duration_seconds(said.group(1))
            if seconds is not None:
                within = TimeTarget(TimeTargetKind.TIME_TO_RESOLVE, said.group(0)[:80], seconds, block.line)
    if target is None and phase_ends:
        seconds, text, line = max(phase_ends)
        target = TimeTarget(TimeTargetKind.TIME_TO_RESOLVE, text, seconds, line)
    if target is None and within is not None:
        target = within
    total = float(sum(durations))
    if target is None and total:
        target = TimeTarget(TimeTargetKind.TIME_TO_RESOLVE, "sum of the step durations", total, candidate.line)
    for symptom, line in symptoms:
        if not _COMPARED.search(symptom):
            continue  # "returns 503" is a symptom, not an objective
        if (slo := parse_slo_text(symptom, line)) is not None and slo not in slos:
            slos.append(slo)
    if not alerts:
        alerts.extend(_alerts_for_title(candidate.title, doc_alerts))
    steps = tuple(extract_steps(candidate.blocks))
    if target is None:
        target = _step_durations(steps)
    if target is None:
        target = _inherited_target(severity, doc_targets, severity_slas)
    if response is None:
        response = _severity_response(severity, severity_slas)
    return Incident(
        id=candidate.id,
        title=candidate.title,
        line=candidate.line,
        severity=severity,
        symptoms=tuple(text for text, _ in symptoms),
        alerts=tuple(alerts),
        slos=tuple(slos),
        time_target=target,
        steps=steps,
        response_target=response,
    )


def _alerts_for_title(title: str, doc_alerts: list[AlertTrigger]) -> list[AlertTrigger]:
    lowered = title.casefold()
    found: list[AlertTrigger] = []
    for alert in doc_alerts:
        metric = alert.slo.metric if alert.slo else ""
        words = next((w for key, w in _METRIC_WORDS.items() if metric == key or metric.startswith(f"{key}_p")), ())
        if words and any(word in lowered for word in words):
            found.append(alert)
    return found


def _step_durations(steps: tuple[Step, ...]) -> TimeTarget | None:
    """ "(2 min)" on each step title, when nothing else gives a target: the procedure takes their sum."""
    total = 0.0
    for step in steps:
        match = _STEP_DURATION.search(step.title)
        if match is not None:
            total += duration_seconds(f"{match.group(1)} {match.group(2)}") or 0.0
    if not total:
        return None
    return TimeTarget(TimeTargetKind.TIME_TO_RESOLVE, "sum of the step durations", total, steps[0].line)


def _severity_key(severity: str | None) -> str | None:
    if severity is None:
        return None
    match = re.search(r"\b(P[0-5]|SEV-?[0-5])\b", severity, re.IGNORECASE)
    return match.group(1).upper().replace("-", "") if match else None


def _severity_response(severity: str | None, severity_slas: dict[str, TimeTarget]) -> TimeTarget | None:
    key = _severity_key(severity)
    return severity_slas.get(key) if key else None


def _inherited_target(
    severity: str | None, doc_targets: list[TimeTarget], severity_slas: dict[str, TimeTarget]
) -> TimeTarget | None:
    """A severity's resolution time, else the document MTTR/RTO; a response SLA is never a resolution target."""
    key = _severity_key(severity)
    if key and f"resolve:{key}" in severity_slas:
        return severity_slas[f"resolve:{key}"]
    return next((t for t in doc_targets if t.kind is TimeTargetKind.MTTR), None)
