"""Request records and the statistics of one window of them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One request the traffic generator made.

    ``ts`` is the wall-clock epoch time (seconds) the request *completed*, so the delay from a request to
    the monitor is ``time.time() - ts`` when the record arrives. ``ok`` is the traffic generator's verdict
    (a 2xx/3xx answer and no transport error); ``status`` is 0 when no HTTP answer came back.
    """

    ts: float
    name: str
    method: str
    status: int
    ok: bool
    latency_ms: float
    error: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequestRecord:
        """Read a record from its JSON form (the keys are the field names)."""
        error = data.get("error")
        return cls(
            ts=float(data["ts"]),
            name=str(data["name"]),
            method=str(data["method"]),
            status=int(data["status"]),
            ok=bool(data["ok"]),
            latency_ms=float(data["latency_ms"]),
            error=None if error is None else str(error),
        )


@dataclass(frozen=True)
class WindowStats:
    """What the requests completed in ``(t_end - window_s, t_end]`` looked like.

    ``error_rate`` is a fraction (0.0 when there were no requests; check ``requests`` before trusting it);
    the latency percentiles are nearest-rank, in milliseconds, ``None`` for an empty window.
    """

    t_end: float
    window_s: float
    requests: int
    errors: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    rps: float

    @classmethod
    def of(cls, records: Sequence[RequestRecord], *, t_end: float, window_s: float) -> WindowStats:
        """Summarise the records (the caller has already picked those inside the window)."""
        latencies = sorted(record.latency_ms for record in records)
        errors = sum(1 for record in records if not record.ok)
        count = len(records)
        return cls(
            t_end=t_end,
            window_s=window_s,
            requests=count,
            errors=errors,
            error_rate=errors / count if count else 0.0,
            p50_ms=percentile(latencies, 50),
            p95_ms=percentile(latencies, 95),
            p99_ms=percentile(latencies, 99),
            rps=count / window_s if window_s > 0 else 0.0,
        )


def nearest_rank(pct: float, count: int) -> int:
    """The 1-based rank of the ``pct`` percentile among ``count`` sorted values (nearest-rank method)."""
    return min(max(1, math.ceil(pct / 100.0 * count)), max(count, 1))


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values: always a value that was observed."""
    if not sorted_values:
        return None
    return sorted_values[nearest_rank(pct, len(sorted_values)) - 1]
