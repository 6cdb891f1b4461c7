"""The typed runbook model every later layer builds on.

A runbook is a document with optional document-level SLOs and time targets, and incidents. The model
is immutable and serialises to JSON with :meth:`Runbook.to_json`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

Comparison = Literal["<", "<=", ">", ">=", "=="]


class Effect(StrEnum):
    """What running a command does to the world, worst first when a command has several parts."""

    READ_ONLY = "read-only"
    MUTATING = "mutating"
    DESTRUCTIVE = "destructive"
    EXTERNAL = "external"
    """Leaves the sandbox: cloud CLIs, production URLs, ssh to hosts we do not own."""
    NOTIFICATION = "notification"
    """Slack, PagerDuty, status pages, email."""
    NON_TERMINATING = "non-terminating"
    """Never ends by itself: ``-w``, ``-f``, ``watch``, ``top`` without ``-b``."""
    MANUAL = "manual"
    """Prose only: a human must do it ("open Grafana", "Restart Redis service")."""
    UNKNOWN = "unknown"
    """A tool drillbook does not know (``./scripts/fix.sh``, ``make deploy``): it may change things, but nothing
    says it does. A drill treats its failure as a finding, like a diagnostic's, not as a failed action."""


class TimeTargetKind(StrEnum):
    """Which kind of time promise a runbook makes."""

    MTTR = "mttr"
    TIME_TO_RESOLVE = "time_to_resolve"
    RESPONSE_SLA = "response_sla"
    RTO = "rto"


@dataclass(frozen=True)
class Slo:
    """One service-level objective: ``metric op threshold unit``.

    ``metric`` uses a small vocabulary so checks can be built from it: ``error_rate`` (unit ``%``),
    ``latency_p50`` / ``latency_p95`` / ``latency_p99`` / ``latency`` (unit ``ms``; seconds are
    normalised to ms), ``availability`` (``%``), ``throughput`` (``rps``), ``mttr`` (``s``); anything
    else is a slug of what the runbook names (``db_latency_p95``, ``cpu``, ``memory``, ``replication_lag``).
    ``op`` states what *good* looks like: ``error_rate < 1 %``.
    """

    metric: str
    op: Comparison
    threshold: float
    unit: str
    text: str
    line: int


@dataclass(frozen=True)
class AlertTrigger:
    """An alert rule as written: fires when ``metric op threshold`` holds for ``for_seconds``.

    ``metric`` is the raw expression (``http_errors_total``, ``rate(http_requests_total{status=~"5.."}[5m])``);
    ``slo`` is the normalised objective the alert guards (``error_rate < 5 %``), when one could be derived.
    """

    name: str
    metric: str
    op: Comparison
    threshold: float
    unit: str
    for_seconds: float | None
    text: str
    line: int
    slo: Slo | None = None


@dataclass(frozen=True)
class TimeTarget:
    """A time promise: MTTR, time to resolve, response SLA or RTO, with its upper bound in seconds."""

    kind: TimeTargetKind
    text: str
    seconds: float
    line: int


@dataclass(frozen=True)
class Command:
    """One command as the runbook writes it.

    ``text`` keeps the command as written (backslash continuations joined, prompts stripped);
    ``language`` is the fence tag (normalised: ``bash``, ``sql``, …; ``""`` for none; ``"prose"`` for a
    prose-only action), or the session the line is typed into: ``sql``/``redis``/``mongo`` after a REPL opener,
    ``remote-shell`` after a shell opened elsewhere (``kubectl exec -it … -- bash``, ``oc debug node/…``, ``ssh
    host``), where it runs instead of on this machine. ``verb``/``resource`` are set for kubectl (``get``/``pods``,
    ``rollout``/``deployment``).
    """

    text: str
    line: int
    language: str
    tool: str
    effect: Effect
    placeholders: tuple[str, ...] = ()
    verb: str | None = None
    resource: str | None = None
    branch: str | None = None
    """Alternative this command belongs to (``"Option 2"``) when a block offers several; ``None`` for all."""


@dataclass(frozen=True)
class Step:
    """One numbered step of an incident's procedure."""

    number: int
    title: str
    prose: str
    line: int
    commands: tuple[Command, ...] = ()
    branch: str | None = None
    """Branch label such as ``"Option 2"`` when the runbook offers alternatives."""


@dataclass(frozen=True)
class Incident:
    """One incident (or alert, or procedure) a runbook covers."""

    id: str
    title: str
    line: int
    severity: str | None = None
    symptoms: tuple[str, ...] = ()
    alerts: tuple[AlertTrigger, ...] = ()
    slos: tuple[Slo, ...] = ()
    time_target: TimeTarget | None = None
    """When service must be back (MTTR, time to resolve, RTO): never a response SLA."""
    steps: tuple[Step, ...] = ()
    response_target: TimeTarget | None = None
    """How soon someone must respond ("P1: acknowledge within 5 minutes"); not a time to resolve."""


@dataclass(frozen=True)
class ParseNote:
    """Something in the file the parser read around, with where it is (``rule`` as lint prints it)."""

    rule: Literal["invalid-utf8", "unclosed-fence"]
    line: int
    message: str


@dataclass(frozen=True)
class Runbook:
    """A parsed runbook document."""

    path: Path
    title: str
    incidents: tuple[Incident, ...] = ()
    slos: tuple[Slo, ...] = ()
    time_targets: tuple[TimeTarget, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    """YAML front matter, when the document has one (values as strings)."""
    alerts: tuple[AlertTrigger, ...] = ()
    """Document-level alert thresholds (a metrics table) not tied to one incident."""
    notes: tuple[ParseNote, ...] = ()
    """What the parser had to guess at: invalid UTF-8 replaced, a code block left unclosed at the end."""

    def incident(self, incident_id: str) -> Incident:
        """Return the incident with this id or title, or raise ``KeyError`` naming what exists.

        Matching ignores case and treats runs of spaces, hyphens and punctuation alike, so ``"Incident 2"``
        finds id ``Incident-2`` and ``"High Error Rate Alert"`` finds that heading. Ids win over titles.
        """
        wanted = _key(incident_id)
        for incident in self.incidents:
            if _key(incident.id) == wanted:
                return incident
        for incident in self.incidents:
            if _key(incident.title) == wanted:
                return incident
        available = ", ".join(i.id for i in self.incidents) or "none"
        raise KeyError(f"no incident {incident_id!r} in {self.path}; available: {available}")

    def to_json(self) -> dict[str, Any]:
        """The model as JSON-ready data (enums as their values, paths as strings)."""
        data = asdict(self)
        data["path"] = str(self.path)
        return _plain(data)  # type: ignore[no-any-return]


def _key(text: str) -> str:
    return "-".join(re.findall(r"[^\W_]+", text.casefold()))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value
