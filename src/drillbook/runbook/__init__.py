"""Runbooks as typed models: parse markdown runbooks into incidents, steps, commands, SLOs and time targets.

``parse_runbook(path)`` / ``parse_text(text, path)`` return a :class:`Runbook`; ``Runbook.to_json()`` gives:

- ``title``, ``path``, ``metadata`` (YAML front matter as strings);
- ``slos[]``: document objectives ``{metric, op, threshold, unit, text, line}``, always the *good* side
  (``error_rate < 1 %``, ``latency_p95 < 500 ms``, ``availability >= 99.9 %``, ``mttr < 1800 s``);
- ``time_targets[]``: ``{kind, text, seconds, line}`` with kind ``mttr``/``rto``/``response_sla`` (document MTTR,
  RTO table rows, severity response-time table rows); ``alerts[]``: thresholds from a metrics table;
- ``incidents[]``: ``{id, title, line, severity, symptoms[], alerts[], slos[], time_target, response_target,
  steps[]}``; ``time_target`` is a time to *resolve* (label, table row, "(Within 15 minutes)", time-boxed phases,
  step durations), inherited from a severity's resolve-within row or the document MTTR/RTO; a response SLA is only
  ever ``response_target``;
- ``steps[]``: ``{number, title, prose, line, branch, commands[]}``, numbered 1..n in reading order (remedy blocks
  after the numbered list included); ``commands[]``: ``{text, line, language, tool, effect, placeholders[], verb,
  resource, branch}`` with ``language`` ``bash`` (this machine's shell), ``sql``/``redis``/``mongo`` (a line typed
  into that REPL), ``remote-shell`` (a line typed into a shell opened elsewhere: ``kubectl exec -it … -- bash``,
  ``docker exec -it …``, ``oc rsh``, ``oc debug node/…`` and ``chroot /host``, ``ssh host``) or ``prose``, and
  ``effect`` one of :class:`Effect` (``unknown`` for a tool drillbook does not know; a typed line has its own);
- ``notes[]``: ``{rule, line, message}`` for invalid UTF-8 and a code block left unclosed.

See :mod:`drillbook.runbook.sections` for incident ids, :mod:`drillbook.runbook.commands` for effects,
:mod:`drillbook.runbook.sessions` for interactive sessions and :mod:`drillbook.runbook.slos` for the SLO convention.
"""

from drillbook.runbook.model import (
    AlertTrigger,
    Command,
    Comparison,
    Effect,
    Incident,
    ParseNote,
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
    "ParseNote",
    "Runbook",
    "Slo",
    "Step",
    "TimeTarget",
    "TimeTargetKind",
    "parse_runbook",
    "parse_text",
]
