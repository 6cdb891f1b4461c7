"""``limit_data``: close the connection once ``bytes`` bytes went through this stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

from drillbook.platform.local.toxiproxy.toxics import register
from drillbook.platform.local.toxiproxy.toxics.base import Chunk, Link, Toxic


@dataclass
class _Counter:
    sent: int = 0


@register
class LimitDataToxic(Toxic):
    """Pass the first ``bytes`` bytes of each connection, then close it (the last chunk is truncated)."""

    type_name: ClassVar[str] = "limit_data"
    fields: ClassVar[dict[str, int]] = {"bytes": 0}

    def new_state(self) -> _Counter:
        """Bytes already sent on this link."""
        return _Counter()

    async def pipe(self, chunk: Chunk, link: Link, state: Any) -> AsyncIterator[Chunk]:
        """Pass what fits under the limit; close the connection when it is reached."""
        counter: _Counter = state
        remaining = max(self.attributes["bytes"] - counter.sent, 0)
        data = chunk.data[:remaining]
        if data:
            counter.sent += len(data)
            yield Chunk(data, chunk.timestamp)
        if counter.sent >= self.attributes["bytes"]:
            link.close()
