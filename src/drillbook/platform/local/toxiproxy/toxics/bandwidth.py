"""``bandwidth``: limit a stream to ``rate`` KB/s (1 KB = 1000 bytes, as Toxiproxy counts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

from drillbook.platform.local.toxiproxy.toxics import register
from drillbook.platform.local.toxiproxy.toxics.base import Chunk, Link, Toxic


@dataclass
class _Clock:
    #: Loop time at which the link's rate budget is free again.
    free_at: float = 0.0


@register
class BandwidthToxic(Toxic):
    """Send at most ``rate`` KB per second, in 100 ms slices so slow rates trickle instead of stalling."""

    type_name: ClassVar[str] = "bandwidth"
    fields: ClassVar[dict[str, int]] = {"rate": 0}

    def new_state(self) -> _Clock:
        """A per-link clock of when the next byte may go out."""
        return _Clock()

    async def pipe(self, chunk: Chunk, link: Link, state: Any) -> AsyncIterator[Chunk]:
        """Release the chunk slice by slice at the configured rate."""
        rate = self.attributes["rate"]
        if rate <= 0:
            yield chunk
            return
        clock: _Clock = state
        slice_size = rate * 100  # bytes per 100 ms
        data = chunk.data
        for start in range(0, len(data), slice_size):
            piece = data[start : start + slice_size]
            clock.free_at = max(clock.free_at, link.now()) + len(piece) / (rate * 1000)
            if not await link.sleep(clock.free_at - link.now(), self):
                yield Chunk(data[start:], chunk.timestamp)  # removed meanwhile: the rest goes at once
                return
            yield Chunk(piece, chunk.timestamp)
