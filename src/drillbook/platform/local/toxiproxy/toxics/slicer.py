"""``slicer``: split chunks into pieces of ``average_size`` ± ``size_variation`` bytes, ``delay`` µs apart."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from drillbook.platform.local.toxiproxy.toxics import register
from drillbook.platform.local.toxiproxy.toxics.base import Chunk, Link, Toxic


@register
class SlicerToxic(Toxic):
    """Many small TCP writes instead of one, exercising clients' message reassembly."""

    type_name: ClassVar[str] = "slicer"
    fields: ClassVar[dict[str, int]] = {"average_size": 0, "size_variation": 0, "delay": 0}

    async def pipe(self, chunk: Chunk, link: Link, state: Any) -> AsyncIterator[Chunk]:
        """Yield the chunk in slices, pausing ``delay`` microseconds between them."""
        average = self.attributes["average_size"]
        variation = self.attributes["size_variation"]
        if average <= 0:
            yield chunk
            return
        data, pos = chunk.data, 0
        while pos < len(data):
            size = max(1, average + random.randint(-variation, variation))
            yield Chunk(data[pos : pos + size], chunk.timestamp)
            pos += size
            delay = self.attributes["delay"] / 1_000_000
            if pos < len(data) and delay > 0 and not await link.sleep(delay, self):
                yield Chunk(data[pos:], chunk.timestamp)
                return
