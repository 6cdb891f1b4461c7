"""Score the runbook parser against the hand-written corpus in ``tests/runbook/corpus/``.

Each ``NAME.md`` there has a sidecar ``NAME.expected.yaml`` (format: ``tests/runbook/corpus/README.md``) with the
model an experienced SRE reads from it. :func:`score_corpus` parses every runbook with
:func:`drillbook.runbook.parse_runbook` and compares; ``tests/runbook/test_runbook_corpus.py`` asserts the goals and
``bench/bench_corpus.py`` prints the figures. :func:`check_sidecar` validates one sidecar against its document.

Figures (all over the whole corpus):

- incidents right: share of documents whose normalised set of incident titles equals the expected set and whose
  every incident has the expected resolution target (within 1 s; ``null`` matches no target or a response SLA);
- command recall: expected commands found among the commands of the parser's incident with the same title;
- precision: parser commands (not ``prose``/``manual``, not a session's ``exit``/``\\q``) that match an expected
  command of the same incident, over all such parser commands, including those of incidents that should not exist;
- danger recall: expected destructive/external/notification commands that the parser found with an effect of the
  same danger class (destructive, or outward = external/notification);
- branches right: of the found commands whose sidecar names a ``branch`` (an alternative such as "Or restart"),
  the share the parser put on that branch.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from drillbook.runbook import Command, Incident, Runbook, TimeTargetKind, parse_runbook

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "runbook" / "corpus"

EFFECTS = frozenset({"read-only", "mutating", "destructive", "external", "notification", "non-terminating", "unknown"})
DANGER_CLASSES = {"destructive": "destructive", "external": "outward", "notification": "outward"}
"""Effect → danger class; a dangerous command must be found with an effect of its own class."""

SESSION_ENDS = frozenset({"exit", "\\q", "quit", "quit()", "logout", "exit;", "\\quit"})
"""Lines that only close an interactive session: neither listed in sidecars nor counted from the parser."""

_INCIDENT_KEYS = frozenset({"title", "time_target_s", "slos", "commands", "notes"})
_COMMAND_KEYS = frozenset({"text", "effect", "branch", "notes"})
_SLO = re.compile(r"^[a-z][a-z0-9_]* (?:<|<=|>|>=|==) \d+(?:\.\d+)? \S+$")
_TRAILING_COMMENT = re.compile(r"\s+#\s[^'\"`]*$")
_TRAILING_PAREN = re.compile(r"\s*\([^()]*\)\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SETEXT = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")


# --- the expected model -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedCommand:
    """One command an on-call would type, as written, with the effects an SRE accepts for it."""

    text: str
    effects: frozenset[str]
    branch: str | None = None
    """The alternative the command belongs to ("Or restart", "Option 2"), when the sidecar says."""


@dataclass(frozen=True)
class ExpectedIncident:
    """One incident of a sidecar."""

    title: str
    time_target_s: float | None
    slos: tuple[str, ...]
    commands: tuple[ExpectedCommand, ...]


@dataclass(frozen=True)
class Expected:
    """A whole sidecar."""

    name: str
    incidents: tuple[ExpectedIncident, ...]


class SidecarError(ValueError):
    """A sidecar breaks the format of ``tests/runbook/corpus/README.md``."""


def load_expected(sidecar: Path) -> Expected:
    """Read and schema-check one ``NAME.expected.yaml``.

    Raises:
        SidecarError: an unknown key, a missing field, a wrong type or an effect outside the enum.
    """
    where = sidecar.name
    data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "incidents" not in data:
        raise SidecarError(f"{where}: expected a mapping with 'incidents', got {type(data).__name__}")
    unknown = set(data) - {"incidents", "notes"}
    if unknown:
        raise SidecarError(f"{where}: unknown top-level keys {sorted(unknown)}; allowed: incidents, notes")
    if not isinstance(data["incidents"], list):
        raise SidecarError(f"{where}: 'incidents' must be a list ([] when nothing is drillable)")
    incidents = tuple(_incident(raw, f"{where}: incident {n}") for n, raw in enumerate(data["incidents"], start=1))
    titles = Counter(title_key(i.title) for i in incidents)
    doubled = [t for t, count in titles.items() if count > 1]
    if doubled:
        raise SidecarError(f"{where}: incident titles must be distinct once normalised, repeated: {doubled}")
    return Expected(sidecar.name.removesuffix(".expected.yaml"), incidents)


def _incident(raw: Any, where: str) -> ExpectedIncident:
    if not isinstance(raw, dict):
        raise SidecarError(f"{where}: expected a mapping, got {raw!r}")
    unknown = set(raw) - _INCIDENT_KEYS
    missing = {"title", "time_target_s", "commands"} - set(raw)
    if unknown or missing:
        raise SidecarError(f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    title, target, slos, commands = raw["title"], raw["time_target_s"], raw.get("slos") or [], raw["commands"]
    if not isinstance(title, str) or not title.strip():
        raise SidecarError(f"{where}: title must be a non-empty string, got {title!r}")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float) or target <= 0):
        raise SidecarError(f"{where} ({title}): time_target_s must be seconds > 0 or null, got {target!r}")
    if not isinstance(slos, list) or not all(isinstance(s, str) and _SLO.match(s) for s in slos):
        raise SidecarError(f"{where} ({title}): slos must be strings 'metric op threshold unit', got {slos!r}")
    if not isinstance(commands, list):
        raise SidecarError(f"{where} ({title}): commands must be a list")
    parsed = tuple(_command(c, f"{where} ({title}) command {n}") for n, c in enumerate(commands, start=1))
    return ExpectedIncident(title, None if target is None else float(target), tuple(slos), parsed)


def _command(raw: Any, where: str) -> ExpectedCommand:
    if not isinstance(raw, dict) or set(raw) - _COMMAND_KEYS or {"text", "effect"} - set(raw):
        raise SidecarError(f"{where}: expected {{text, effect}}, got {raw!r}")
    text, effect = raw["text"], raw["effect"]
    if not isinstance(text, str) or not text.strip():
        raise SidecarError(f"{where}: text must be a non-empty string, got {text!r}")
    if normalise_command(text) in SESSION_ENDS:
        raise SidecarError(f"{where}: {text!r} only ends a session; leave it out (README: sessions)")
    effects = [effect] if isinstance(effect, str) else effect
    if not isinstance(effects, list) or not effects or not all(e in EFFECTS for e in effects):
        allowed = sorted(EFFECTS)
        raise SidecarError(f"{where} ({text}): effect must be one of {allowed} or a list of them, got {effect!r}")
    branch = raw.get("branch")
    if branch is not None and (not isinstance(branch, str) or not branch.strip()):
        raise SidecarError(f"{where} ({text}): branch must be a non-empty label such as 'Option 2', got {branch!r}")
    return ExpectedCommand(text, frozenset(effects), branch)


def check_sidecar(document: Path) -> list[str]:
    """Problems of the sidecar of ``document``: schema, and text that does not occur in the document."""
    sidecar = document.with_name(document.name.removesuffix(".md") + ".expected.yaml")
    if not sidecar.exists():
        return [f"{document.name}: no sidecar {sidecar.name}"]
    try:
        expected = load_expected(sidecar)
    except (SidecarError, yaml.YAMLError) as exc:
        return [str(exc)]
    source = document.read_text(encoding="utf-8")
    code = _code_texts(source)
    headings = _headings(source)
    problems: list[str] = []
    for incident in expected.incidents:
        if incident.title not in headings:
            problems.append(f"{sidecar.name}: title {incident.title!r} is no heading of {document.name} (as cleaned)")
        for command in incident.commands:
            wanted = normalise_command(command.text)
            if not any(wanted in text for text in code):
                where = f"no code block or span of {document.name}"
                problems.append(f"{sidecar.name}: command {command.text!r} is in {where}")
    return problems


def _code_texts(source: str) -> list[str]:
    """The normalised text of every fenced or indented block and inline code span, as CommonMark reads them."""
    texts: list[str] = []
    for token in MarkdownIt("commonmark").parse(source):
        if token.type in ("fence", "code_block"):
            texts.append(_spaces(token.content))
        for child in token.children or ():
            if child.type == "code_inline":
                texts.append(_spaces(child.content))
    return texts


def _headings(source: str) -> set[str]:
    """ATX (``## Title``) and setext (``Title`` over ``===``/``---``) heading texts, cleaned."""
    lines = source.splitlines()
    found = {_clean_heading(m.group(1)) for line in lines if (m := _HEADING.match(line))}
    for above, line in pairwise(lines):
        if above.strip() and _SETEXT.match(line) and not above.lstrip().startswith(("-", "*", "|", ">")):
            found.add(_clean_heading(above))
    return found


def _clean_heading(text: str) -> str:
    return " ".join(_LINK.sub(r"\1", text).replace("*", "").replace("`", "").split())


# --- normalisation ------------------------------------------------------------------------------------------------


def title_key(title: str) -> str:
    """Titles compared without case, punctuation, emphasis or a trailing ``(…)`` note such as ``(Within 5 minutes)``."""
    bare = _TRAILING_PAREN.sub("", _clean_heading(title)) or title
    return "-".join(re.findall(r"[^\W_]+", bare.casefold()))


def normalise_command(text: str) -> str:
    """Whitespace runs to one space, backslash-newline continuations joined, a trailing ``# comment`` dropped."""
    return _TRAILING_COMMENT.sub("", _spaces(text))


def _spaces(text: str) -> str:
    return " ".join(text.replace("\\\n", " ").split())


# --- scoring ------------------------------------------------------------------------------------------------------


@dataclass
class DocumentScore:
    """How the parser did on one document."""

    name: str
    incidents_right: bool = True
    incident_problems: list[str] = field(default_factory=list)
    expected_commands: int = 0
    found_commands: int = 0
    parser_commands: int = 0
    matched_parser_commands: int = 0
    dangerous: int = 0
    dangerous_found: int = 0
    effects_compared: int = 0
    effects_agreed: int = 0
    branches_compared: int = 0
    branches_agreed: int = 0
    missed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    danger_missed: list[str] = field(default_factory=list)
    branch_wrong: list[str] = field(default_factory=list)
    parse_error: str | None = None


@dataclass
class CorpusScore:
    """The corpus figures and each document's details."""

    documents: list[DocumentScore]
    parse_seconds: float
    """Wall-clock time of parsing the whole corpus (imports and regex compiling included on a first run)."""
    parse_cpu_seconds: float = 0.0
    """CPU time of the same parse (this process only): the fair figure on a machine shared with other work."""

    @property
    def incident_accuracy(self) -> float:
        """Share of documents whose incidents (titles and targets) are right."""
        return _ratio(sum(d.incidents_right for d in self.documents), len(self.documents))

    @property
    def command_recall(self) -> float:
        """Expected commands the parser found in the right incident."""
        return _ratio(sum(d.found_commands for d in self.documents), sum(d.expected_commands for d in self.documents))

    @property
    def command_precision(self) -> float:
        """Parser commands that an SRE also lists for that incident."""
        return _ratio(
            sum(d.matched_parser_commands for d in self.documents), sum(d.parser_commands for d in self.documents)
        )

    @property
    def danger_recall(self) -> float:
        """Destructive/external/notification commands found with an effect of their danger class."""
        return _ratio(sum(d.dangerous_found for d in self.documents), sum(d.dangerous for d in self.documents))

    @property
    def effect_agreement(self) -> float:
        """Of the commands found, the share whose effect is one the sidecar accepts (information, not a goal)."""
        return _ratio(sum(d.effects_agreed for d in self.documents), sum(d.effects_compared for d in self.documents))

    @property
    def branch_accuracy(self) -> float:
        """Of the found commands whose sidecar names a branch, the share the parser put on that branch."""
        return _ratio(sum(d.branches_agreed for d in self.documents), sum(d.branches_compared for d in self.documents))


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def corpus_documents(corpus: Path = CORPUS) -> list[Path]:
    """The corpus runbooks (``*.md`` except the README), sorted by name."""
    return sorted(p for p in corpus.glob("*.md") if p.name != "README.md")


def score_corpus(corpus: Path = CORPUS) -> CorpusScore:
    """Parse every corpus runbook and score it against its sidecar; times the parsing alone."""
    documents = corpus_documents(corpus)
    expected = {p: load_expected(p.with_name(p.name.removesuffix(".md") + ".expected.yaml")) for p in documents}
    parsed: dict[Path, Runbook | str] = {}
    start, start_cpu = time.perf_counter(), time.process_time()
    for path in documents:
        try:
            parsed[path] = parse_runbook(path)
        except Exception as exc:  # a parser failure scores the document as all wrong, it does not stop the bench
            parsed[path] = f"{type(exc).__name__}: {exc}"
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return CorpusScore([score_document(expected[p], parsed[p]) for p in documents], seconds, cpu)


def score_document(expected: Expected, runbook: Runbook | str) -> DocumentScore:
    """Compare one parsed runbook (or the error text it raised) with its expected model."""
    score = DocumentScore(expected.name)
    wanted = {title_key(i.title): i for i in expected.incidents}
    for want in expected.incidents:
        score.expected_commands += len(want.commands)
        score.dangerous += sum(1 for c in want.commands if _danger(c.effects))
    if isinstance(runbook, str):
        score.parse_error = runbook
        score.incidents_right = not expected.incidents
        score.incident_problems.append(f"parse failed: {runbook}")
        score.missed = [c.text for i in expected.incidents for c in i.commands]
        score.danger_missed = [c.text for i in expected.incidents for c in i.commands if _danger(c.effects)]
        return score
    got: dict[str, Incident] = {}
    for found in runbook.incidents:
        got.setdefault(title_key(found.title), found)
    _check_incidents(score, wanted, got, [title_key(i.title) for i in runbook.incidents])
    for key, found in got.items():
        _score_commands(score, wanted.get(key), _drillable(found))
    for key, want in wanted.items():
        if key not in got:
            _score_commands(score, want, [])
    # Parser incidents repeated under one title: their commands all count, and none can match.
    first = {id(i) for i in got.values()}
    for found in runbook.incidents:
        if id(found) not in first:
            extras = _drillable(found)
            score.parser_commands += len(extras)
            score.extra.extend(f"[{found.title} (again)] {c.text}" for c in extras)
    return score


def _check_incidents(
    score: DocumentScore, wanted: dict[str, ExpectedIncident], got: dict[str, Incident], got_titles: list[str]
) -> None:
    """Titles as a set (each once) and, for each incident found, its resolution target."""
    if sorted(got_titles) != sorted(wanted):
        score.incidents_right = False
        missing = sorted(set(wanted) - set(got_titles))
        extra = sorted(set(got_titles) - set(wanted))
        doubled = sorted(t for t, n in Counter(got_titles).items() if n > 1)
        twice = f" twice {doubled}" if doubled else ""
        score.incident_problems.append(f"titles: missing {missing} extra {extra}{twice}")
    for key, want in wanted.items():
        found = got.get(key)
        if found is None:
            continue
        target = _resolution_target(found)
        if not _same_target(target, want.time_target_s):
            score.incidents_right = False
            score.incident_problems.append(f"{want.title!r}: target {target} != expected {want.time_target_s}")


def _same_target(got: float | None, wanted: float | None) -> bool:
    if got is None or wanted is None:
        return got is None and wanted is None
    return abs(got - wanted) <= 1


def _score_commands(score: DocumentScore, expected: ExpectedIncident | None, commands: list[Command]) -> None:
    score.parser_commands += len(commands)
    pool: dict[str, list[Command]] = {}
    for command in commands:
        pool.setdefault(normalise_command(command.text), []).append(command)
    if expected is not None:
        for wanted in expected.commands:
            candidates = pool.get(normalise_command(wanted.text))
            found = candidates.pop(0) if candidates else None
            if found is None:
                score.missed.append(f"[{expected.title}] {wanted.text}")
                if _danger(wanted.effects):
                    score.danger_missed.append(f"[{expected.title}] {wanted.text} (not found)")
                continue
            score.found_commands += 1
            score.matched_parser_commands += 1
            score.effects_compared += 1
            score.effects_agreed += found.effect.value in wanted.effects
            if wanted.branch is not None:
                _score_branch(score, expected.title, wanted, found)
            classes = _danger(wanted.effects)
            if classes:
                if DANGER_CLASSES.get(found.effect.value) in classes:
                    score.dangerous_found += 1
                else:
                    score.danger_missed.append(f"[{expected.title}] {wanted.text} (read as {found.effect.value})")
    leftover = [c for candidates in pool.values() for c in candidates]
    title = expected.title if expected is not None else "no such incident"
    score.extra.extend(f"[{title}] {c.text}" for c in sorted(leftover, key=lambda c: c.line))


def _score_branch(score: DocumentScore, title: str, wanted: ExpectedCommand, found: Command) -> None:
    """A nested label ("Option 2 / Kubernetes") is on the branch when any of its parts is the expected one."""
    score.branches_compared += 1
    parts = [part.strip().casefold() for part in (found.branch or "").split(" / ")]
    if wanted.branch is not None and wanted.branch.casefold() in parts:
        score.branches_agreed += 1
    else:
        score.branch_wrong.append(f"[{title}] {wanted.text} (branch {found.branch!r}, expected {wanted.branch!r})")


def _danger(effects: frozenset[str]) -> set[str]:
    """The danger classes a command must be found in: none unless every effect the sidecar accepts is dangerous."""
    classes = {DANGER_CLASSES.get(e) for e in effects}
    return set() if None in classes else {c for c in classes if c is not None}


def _drillable(incident: Incident) -> list[Command]:
    """The incident's commands that claim to be typed: not prose, not a session's closing ``exit``."""
    return [
        command
        for step in incident.steps
        for command in step.commands
        if command.language != "prose"
        and command.effect.value != "manual"
        and normalise_command(command.text) not in SESSION_ENDS
    ]


def _resolution_target(incident: Incident) -> float | None:
    target = incident.time_target
    if target is None or target.kind is TimeTargetKind.RESPONSE_SLA:
        return None
    return target.seconds
