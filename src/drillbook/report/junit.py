"""Drill properties for pytest's JUnit XML (the pytest plugin passes them to ``record_property``)."""

from __future__ import annotations

import math

from drillbook.journal import VerdictReached


def _seconds(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.3f}"


def junit_properties(verdict_event: VerdictReached) -> list[tuple[str, str]]:
    """``(name, value)`` pairs for one drill's verdict; unknown numbers are empty strings."""
    return [
        ("verdict", verdict_event.verdict.value),
        ("time_to_restore_s", _seconds(verdict_event.time_to_restore_s)),
        ("projected_mttr_s", _seconds(verdict_event.projected_mttr_s)),
        ("target_s", _seconds(verdict_event.target_s)),
        ("reason", verdict_event.reason),
    ]
