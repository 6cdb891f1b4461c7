"""Runbooks as typed models: parse markdown runbooks into incidents, steps, commands, SLOs and time targets."""

from drillbook.runbook.model import (
    AlertTrigger,
    Command,
    Comparison,
    Effect,
    Incident,
    Runbook,
    Slo,
    Step,
    TimeTarget,
    TimeTargetKind,
)
from drillbook.runbook.parser import parse_runbook, parse_text

__all__ = [
    "AlertTrigger",
    "Command",
    "Comparison",
    "Effect",
    "Incident",
    "Runbook",
    "Slo",
    "Step",
    "TimeTarget",
    "TimeTargetKind",
    "parse_runbook",
    "parse_text",
]
