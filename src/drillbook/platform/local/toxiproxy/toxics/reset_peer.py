"""``reset_peer``: on the next data, wait ``timeout`` ms and reset the connection (TCP RST)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from drillbook.platform.local.toxiproxy.toxics import register
from drillbook.platform.local.toxiproxy.toxics.base import Chunk, Link, Toxic


@register
class ResetPeerToxic(Toxic):
    """Clients see "connection reset by peer"; the data that triggered it is discarded."""

    type_name: ClassVar[str] = "reset_peer"
    fields: ClassVar[dict[str, int]] = {"timeout": 0}

    async def pipe(self, chunk: Chunk, link: Link, state: Any) -> AsyncIterator[Chunk]:
        """Reset after ``timeout`` ms; pass the chunk on if the toxic is removed first."""
        if await link.sleep(self.attributes["timeout"] / 1000, self):
            link.close(reset=True)
            return
        yield chunk
