"""Projected real-world MTTR: what the incident would take with people in the loop.

Sandbox time alone would make every target trivially met. The projection adds what a real response
costs: waiting for the alert to fire (the runbook's own "for 2 minutes"), acknowledging it, an
operator's time per step by what the step does, and the waits the runbook prescribes. Follow-up steps
(Prevention, Post-Incident, or as ``drills.yaml`` says) are work after service is back: they never count.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from drillbook.runbook.model import Effect, Incident, Step, TimeTarget, TimeTargetKind

DEFAULT_OPERATOR_SECONDS: Mapping[Effect, float] = {
    Effect.READ_ONLY: 30.0,
    Effect.MUTATING: 60.0,
    Effect.DESTRUCTIVE: 120.0,
    Effect.EXTERNAL: 120.0,
    Effect.NOTIFICATION: 60.0,
    Effect.NON_TERMINATING: 60.0,
    Effect.MANUAL: 180.0,
    Effect.UNKNOWN: 60.0,
}
"""Operator seconds per command by effect: typing and reading output for a read, checking before a change (a tool
drillbook does not know counts as one), double-checking before a destructive one, and three minutes for anything a
human must do by hand."""


@dataclass(frozen=True)
class ProjectionSettings:
    """How the projection values people's time."""

    operator_seconds: Mapping[Effect, float] = field(default_factory=lambda: dict(DEFAULT_OPERATOR_SECONDS))
    """Seconds an operator spends per command, by effect class (see ``DEFAULT_OPERATOR_SECONDS``)."""
    acknowledge_s: float = 60.0
    """From page to an engineer at a keyboard reading the runbook: one minute is an optimistic on-call."""
    default_alert_delay_s: float = 60.0
    """Used when the incident names no alert duration: one evaluation interval of a typical alert rule."""


@dataclass(frozen=True)
class Projection:
    """The parts of a projected MTTR, in seconds."""

    alert_delay_s: float
    acknowledge_s: float
    operator_s: float
    prescribed_waits_s: float
    measured_s: float

    @property
    def total_s(self) -> float:
        """The projected MTTR."""
        return self.alert_delay_s + self.acknowledge_s + self.operator_s + self.prescribed_waits_s + self.measured_s


_WAIT = re.compile(
    r"\b(?:wait(?:\s+for)?|sleep|monitor\s+for|allow)\s+(?:up\s+to\s+)?(\d+(?:\.\d+)?)\s*"
    r"(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)?\b",
    re.IGNORECASE,
)
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}


def prescribed_wait_seconds(text: str) -> float:
    """Seconds of waiting a text prescribes ("wait 30 seconds", "sleep 30", "Monitor for 15 Minutes")."""
    total = 0.0
    for match in _WAIT.finditer(text):
        amount = float(match.group(1))
        unit = (match.group(2) or "s")[0].lower()
        total += amount * _UNIT[unit]
    return total


def resolution_target(incident: Incident) -> TimeTarget | None:
    """The incident's time target when it is a time to *resolve* (MTTR, time to resolve, RTO).

    A response SLA ("P1: respond within 15 minutes") promises when someone starts working, not when service is
    back, so the projected MTTR is never judged against it.
    """
    target = incident.time_target
    if target is None or target.kind is TimeTargetKind.RESPONSE_SLA:
        return None
    return target


def alert_delay_seconds(incident: Incident, settings: ProjectionSettings) -> float:
    """The longest "for" duration among the incident's alerts, else the default."""
    durations = [a.for_seconds for a in incident.alerts if a.for_seconds is not None]
    return max(durations) if durations else settings.default_alert_delay_s


def project(
    incident: Incident,
    steps: Iterable[Step],
    measured_s: float,
    settings: ProjectionSettings | None = None,
    follow_up: Collection[int] = (),
) -> Projection:
    """Project the MTTR of following ``steps`` of ``incident``, given the sandbox's measured restore time.

    Steps whose number is in ``follow_up`` are left out: a retrospective is not response time.
    """
    settings = settings or ProjectionSettings()
    operator = 0.0
    waits = 0.0
    for step in steps:
        if step.number in follow_up:
            continue
        waits += prescribed_wait_seconds(step.prose) + prescribed_wait_seconds(step.title)
        if not step.commands:
            operator += settings.operator_seconds.get(Effect.MANUAL, 0.0)
        for command in step.commands:
            # A `sleep 30` in a command really runs in the sandbox, so it is already in the measured time.
            operator += settings.operator_seconds.get(command.effect, 0.0)
    return Projection(
        alert_delay_s=alert_delay_seconds(incident, settings),
        acknowledge_s=settings.acknowledge_s,
        operator_s=operator,
        prescribed_waits_s=waits,
        measured_s=measured_s,
    )
