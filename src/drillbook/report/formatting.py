"""Numbers and times as every report format writes them."""

from __future__ import annotations

import math
from datetime import UTC, datetime


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
