"""Runbooks as typed models: parse markdown runbooks into incidents, steps, commands, SLOs and time targets.

``parse_runbook(path)`` / ``parse_text(text, path)`` return a :class:`Runbook`; ``Runbook.to_json()`` gives:

- ``title``, ``path``, ``metadata`` (YAML front matter as strings);
- ``slos[]``: document objectives ``{metric, op, threshold, unit, text, line}``, always the *good* side
  (``error_rate < 1 %``, ``latency_p95 < 500 ms``, ``availability >= 99.9 %``, ``mttr < 1800 s``);
- ``time_targets[]``: ``{kind, text, seconds, line}`` with kind ``mttr``/``rto``/``response_sla`` (document MTTR,
  RTO table rows, severity response-time table rows); ``alerts[]``: thresholds from a metrics table;
- ``incidents[]``: ``{id, title, line, severity, symptoms[], alerts[], slos[], time_target, steps[]}``; an incident
  without its own target inherits its severity's response time, else the document MTTR;
- ``steps[]``: ``{number, title, prose, line, branch, commands[]}``; ``commands[]``: ``{text, line, language, tool,
  effect, placeholders[], verb, resource, branch}``.

See :mod:`drillbook.runbook.sections` for incident ids, :mod:`drillbook.runbook.commands` for effects and
:mod:`drillbook.runbook.slos` for the SLO convention.
"""

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
