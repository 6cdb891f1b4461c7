"""Runbook markdown to the typed model: :func:`parse_runbook` for files, :func:`parse_text` for strings."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from drillbook.errors import RunbookParseError
from drillbook.runbook.markdown import Block, Section, parse_blocks, split_sections
from drillbook.runbook.model import AlertTrigger, Incident, Runbook, Slo, TimeTarget, TimeTargetKind
from drillbook.runbook.sections import Candidate, clean_inline, find_incidents, labels, whole_document
from drillbook.runbook.slos import duration_seconds, parse_alert_text, parse_slo_text
from drillbook.runbook.steps import extract_steps


class RunbookInternalError(RunbookParseError):
    """The parser itself failed on this input: a drillbook bug, reported with the file rather than a traceback."""


_TARGET_LABELS = {
    "time to resolve": TimeTargetKind.TIME_TO_RESOLVE,
    "response sla": TimeTargetKind.RESPONSE_SLA,
    "response time": TimeTargetKind.RESPONSE_SLA,
    "mttr": TimeTargetKind.MTTR,
    "rto": TimeTargetKind.RTO,
}
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
        data = path.read_bytes()
    except OSError as exc:
        raise RunbookParseError(
            f"expected a readable markdown file, got {exc.strerror or exc}; check the path and permissions",
            path=path,
        ) from exc
    nul = data.find(b"\x00", 0, 65536)
    if nul >= 0:
        raise RunbookParseError(
            "expected markdown text, found binary data (a NUL byte); pass the runbook's .md file",
            path=path,
            line=data.count(b"\n", 0, nul) + 1,
        )
    return parse_text(data.decode("utf-8", errors="replace"), path)


def parse_text(text: str, path: Path | str = "<text>") -> Runbook:
    """Parse runbook markdown held in a string.

    Raises:
        RunbookParseError: the text is empty (or whitespace only), or the parser failed on it.
    """
    path = Path(path)
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


def _parse(text: str, path: Path) -> Runbook:
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
    )


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
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
        is_slo_section = bool(re.search(r"\bSLOs?\b|service level|objectives", section.title, re.IGNORECASE))
        for block in section.blocks:
            if block.kind == "row":
                _table_row(block, targets, alerts, severity_slas)
            elif block.kind == "paragraph" and is_slo_section:
                for slo in _slo_sentences(clean_inline(block.text), block.line):
                    slos.append(slo)
                    if slo.metric == "mttr":
                        targets.append(TimeTarget(TimeTargetKind.MTTR, slo.text, slo.threshold, slo.line))
    return slos, targets, alerts, severity_slas


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
        elif "response" in head and "severity" in header[0] and seconds is not None:
            target = TimeTarget(TimeTargetKind.RESPONSE_SLA, f"{name}: {cell}", seconds, block.line)
            targets.append(target)
            if match := re.search(r"\b(P[0-5]|SEV-?[0-5])\b", name):
                severity_slas[match.group(1).upper()] = target
        elif head.startswith("threshold") and "metric" in header[0]:
            alert = parse_alert_text(f"{name} {cell}", block.line, name=name)
            if alert is not None:
                alerts.append(alert)


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
    bare_title = re.sub(r"^(?:P[0-5]|SEV-?[0-5]|RB-\d+|Incident \d+|\d+\.)\s*:?\s*", "", candidate.title)
    heading_alert = parse_alert_text(bare_title, candidate.line, name=candidate.title)
    if heading_alert is not None:
        alerts.append(heading_alert)
        if heading_alert.slo is not None:
            slos.append(heading_alert.slo)
    collecting = False
    for block in candidate.blocks:
        if block.kind != "paragraph":
            collecting = False
            continue
        if collecting and block.items and not block.items[0].ordered:
            symptoms.append((clean_inline(block.text), block.line))
            continue
        collecting = False
        for label, raw, line in labels(block):
            value = clean_inline(raw)
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
            elif label in _TARGET_LABELS and (seconds := duration_seconds(value)) is not None and target is None:
                target = TimeTarget(_TARGET_LABELS[label], value, seconds, line)
    for symptom, line in symptoms:
        if not re.search(r"[<>≤≥]|\d\s*%", symptom):
            continue  # "returns 503" is a symptom, not an objective
        if (slo := parse_slo_text(symptom, line)) is not None and slo not in slos:
            slos.append(slo)
    if not alerts:
        alerts.extend(_alerts_for_title(candidate.title, doc_alerts))
    if target is None:
        target = _inherited_target(severity, doc_targets, severity_slas)
    return Incident(
        id=candidate.id,
        title=candidate.title,
        line=candidate.line,
        severity=severity,
        symptoms=tuple(text for text, _ in symptoms),
        alerts=tuple(alerts),
        slos=tuple(slos),
        time_target=target,
        steps=tuple(extract_steps(candidate.blocks)),
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


def _inherited_target(
    severity: str | None, doc_targets: list[TimeTarget], severity_slas: dict[str, TimeTarget]
) -> TimeTarget | None:
    if severity is not None:
        match = re.search(r"\b(P[0-5]|SEV-?[0-5])\b", severity, re.IGNORECASE)
        if match and match.group(1).upper() in severity_slas:
            return severity_slas[match.group(1).upper()]
    return next((t for t in doc_targets if t.kind is TimeTargetKind.MTTR), None)
