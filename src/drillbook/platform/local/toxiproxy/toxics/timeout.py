"""``timeout``: drop all data; close the connection after ``timeout`` ms without data (0 = hold forever)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

from drillbook.platform.local.toxiproxy.toxics import register
from drillbook.platform.local.toxiproxy.toxics.base import Chunk, Link, Toxic


@dataclass
class _Idle:
    last_data: float = 0.0


@register
class TimeoutToxic(Toxic):
    """A black hole: clients see a hung server, then a closed connection (unless ``timeout`` is 0)."""

    type_name: ClassVar[str] = "timeout"
    fields: ClassVar[dict[str, int]] = {"timeout": 0}

    def new_state(self) -> _Idle:
        """When data last arrived (each chunk restarts the timer, as in Toxiproxy)."""
        return _Idle()

    async def pipe(self, chunk: Chunk, link: Link, state: Any) -> AsyncIterator[Chunk]:
        """Drop the chunk on the ground."""
        idle: _Idle = state
        idle.last_data = link.now()
        kept: list[Chunk] = []
        for piece in kept:  # nothing: an async generator that yields no data
            yield piece

    async def run(self, link: Link, state: Any) -> None:
        """Close the connection once ``timeout`` ms passed since the toxic applied or data last came."""
        timeout = self.attributes["timeout"] / 1000
        if timeout <= 0:
            return
        idle: _Idle = state
        idle.last_data = link.now()
        while True:
            wait = idle.last_data + timeout - link.now()
            if wait <= 0:
                link.close()
                return
            if not await link.sleep(wait, self):
                return

    async def on_remove(self, link: Link, state: Any) -> None:
        """Data was dropped, so the stream is corrupt: Toxiproxy closes the connection on removal too."""
        link.close()
