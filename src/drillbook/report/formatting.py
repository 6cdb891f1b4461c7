"""Numbers and times as every report format writes them."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from drillbook.journal import AlertEvaluated

ALERT_STATES = {
    "fired": "fired",
    "never-fired": "never fired",
    "no-data": "no data",
    "untranslatable": "not checked",
    "query-failed": "not checked",
}
"""An alert's outcome as the reports' timeline rows say it."""


def alert_state(alert: AlertEvaluated) -> str:
    """``fired and resolved``, ``fired, still firing``, ``never fired``, ``no data`` or ``not checked``."""
    if alert.outcome == "fired":
        return "fired and resolved" if alert.resolved_t is not None else "fired, still firing at the end"
    return ALERT_STATES.get(alert.outcome, alert.outcome or "not checked")


def alert_time(t: float | None, fault_t: float | None) -> str:
    """``t=31.0 s (fault +12.0 s)`` on the drill's stopwatch, or ``—``."""
    if t is None or not math.isfinite(t):
        return "—"
    after = f" (fault {t - fault_t:+.1f} s)" if fault_t is not None else ""
    return f"t={t:.1f} s{after}"


def alert_timeline(alert: AlertEvaluated) -> str:
    """One line: ``pending t=… · firing t=… · resolved t=…`` (the states it reached), or its outcome."""
    parts = [
        f"{state} {alert_time(t, alert.fault_t)}"
        for state, t in (("pending", alert.pending_t), ("firing", alert.firing_t), ("resolved", alert.resolved_t))
        if t is not None
    ]
    return " · ".join(parts) or alert_state(alert)


def duration(seconds: float | None) -> str:
    """``"42.0 s"``, ``"4 min 12 s"``, or ``"—"`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def timestamp(ts: float | None) -> str:
    """Epoch seconds as ISO 8601 UTC, or ``"—"``."""
    if ts is None or not math.isfinite(ts):
        return "—"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def versus(projected_s: float | None, target_s: float | None) -> str:
    """``"4 min 12 s vs target 5 min 00 s"``; says so when the runbook has no target."""
    if target_s is None:
        return f"{duration(projected_s)} (runbook states no target)"
    return f"{duration(projected_s)} vs target {duration(target_s)}"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text) - limit} more characters in the journal)"
