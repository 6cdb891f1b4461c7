"""``latency``: delay every chunk by ``latency`` ms, ± up to ``jitter`` ms."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from drillbook.platform.local.toxiproxy.toxics import register
from drillbook.platform.local.toxiproxy.toxics.base import Chunk, Link, Toxic


@register
class LatencyToxic(Toxic):
    """Delay relative to each chunk's arrival, so throughput is kept while latency is added."""

    type_name: ClassVar[str] = "latency"
    fields: ClassVar[dict[str, int]] = {"latency": 0, "jitter": 0}

    async def pipe(self, chunk: Chunk, link: Link, state: Any) -> AsyncIterator[Chunk]:
        """Hold the chunk until arrival + delay (sooner if the toxic is removed)."""
        jitter = self.attributes["jitter"]
        delay_ms = self.attributes["latency"] + (random.randint(-jitter, jitter) if jitter else 0)
        wait = chunk.timestamp + max(delay_ms, 0) / 1000 - link.now()
        if wait > 0:
            await link.sleep(wait, self)
        yield chunk
