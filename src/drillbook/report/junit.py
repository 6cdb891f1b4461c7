"""Drill properties for pytest's JUnit XML (the pytest plugin passes them to ``record_property``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from drillbook.journal import AlertEvaluated, VerdictReached
from drillbook.report.formatting import alert_state, alert_timeline


def _seconds(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.3f}"


def junit_properties(verdict_event: VerdictReached, alerts: Sequence[AlertEvaluated] = ()) -> list[tuple[str, str]]:
    """``(name, value)`` pairs for one drill's verdict; unknown numbers are empty strings.

    A drill that passed with findings is a passing test case; its ``findings`` property lists them
    (``stale-command@1, stale-command@6``), one ``finding`` property each carries the sentence, and
    ``not_rehearsed`` lists the steps the drill could not rehearse; one ``alert`` property per alert the runbook
    names says when it went pending, fired and resolved (``HighErrorRate: fired and resolved; pending t=…``).
    """
    properties = [
        ("verdict", verdict_event.verdict.value),
        ("time_to_restore_s", _seconds(verdict_event.time_to_restore_s)),
        ("projected_mttr_s", _seconds(verdict_event.projected_mttr_s)),
        ("target_s", _seconds(verdict_event.target_s)),
        ("reason", verdict_event.reason),
    ]
    if verdict_event.outcome:
        properties.append(("recovery", verdict_event.outcome))
    if verdict_event.attribution:
        properties.append(("attributed_to", verdict_event.attribution))
    if verdict_event.findings:
        kinds = ", ".join(f"{f.kind.value}@{f.step}" for f in verdict_event.findings)
        properties.append(("findings", kinds))
        properties += [("finding", f"step {f.step} {f.kind.value}: {f.message}") for f in verdict_event.findings]
    if verdict_event.unrehearsed:
        skipped = "; ".join(f"step {u.step}: {u.reason}" for u in verdict_event.unrehearsed)
        properties.append(("not_rehearsed", skipped))
    properties += [("alert", f"{a.name}: {alert_state(a)}; {alert_timeline(a)}") for a in alerts]
    return properties
