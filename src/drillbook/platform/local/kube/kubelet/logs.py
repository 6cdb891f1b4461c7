"""Container logs: CRI-format files written by the shim, read back the way ``kubectl logs`` wants them."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_POLL_S = 0.05
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class LogQuery:
    """The options of one logs request (``kubectl logs`` flags)."""

    tail_lines: int | None = None
    since_seconds: float | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


def parse_timestamp(stamp: bytes) -> float:
    """Seconds since the epoch of an RFC3339Nano UTC stamp (nanoseconds are cut to microseconds)."""
    text = stamp.decode()
    head, _, frac = text.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head + "+00:00").timestamp()
    return base + (int(frac[:9].ljust(9, "0")) / 1e9 if frac else 0.0)


def _render(line: bytes, query: LogQuery, since: float | None) -> bytes | None:
    stamp, _, rest = line.partition(b" ")
    _stream, _, rest = rest.partition(b" ")
    _tag, _, body = rest.partition(b" ")
    if since is not None:
        try:
            if parse_timestamp(stamp) < since:
                return None
        except ValueError:
            return None
    return (stamp + b" " + body + b"\n") if query.timestamps else body + b"\n"


def _select(lines: Iterable[bytes], query: LogQuery, since: float | None) -> list[bytes]:
    rendered = [r for r in (_render(line, query, since) for line in lines) if r is not None]
    if query.tail_lines is not None:
        rendered = list(deque(rendered, maxlen=max(query.tail_lines, 0)))
    return rendered


async def read_log(path: Path, query: LogQuery, *, follow: Callable[[], bool] | None = None) -> AsyncIterator[bytes]:
    """Yield a log file's lines per ``query``; with ``follow``, keep yielding new lines while ``follow()`` is true.

    Args:
        path: The CRI-format log file of one container run.
        query: Filtering and formatting options.
        follow: ``None`` for a one-shot read; otherwise a callable telling whether the run may still write.
    """
    since = time.time() - query.since_seconds if query.since_seconds is not None else None
    budget = query.limit_bytes
    path.touch(exist_ok=True)  # the shim may not have created it yet; following must still see its first lines
    with path.open("rb") as fh:
        data = fh.read()
        complete, _, partial = data.rpartition(b"\n")
        # The backlog goes out in large chunks: one write per line makes a long log slow to serve.
        backlog, budget = _limit(b"".join(_select((ln for ln in complete.split(b"\n") if ln), query, since)), budget)
        for start in range(0, len(backlog), _CHUNK):
            yield backlog[start : start + _CHUNK]
        if budget == 0:
            return
        if follow is None:
            return
        while True:
            more = fh.read()
            if more:
                partial += more
                complete, _, partial = partial.rpartition(b"\n")
                for line in complete.split(b"\n"):
                    out = _render(line, query, None) if line else None
                    if out is None:
                        continue
                    chunk, budget = _limit(out, budget)
                    yield chunk
                    if budget == 0:
                        return
                continue
            if not follow():
                return
            await asyncio.sleep(_POLL_S)


def _limit(chunk: bytes, budget: int | None) -> tuple[bytes, int | None]:
    if budget is None:
        return chunk, None
    chunk = chunk[:budget]
    return chunk, budget - len(chunk)
