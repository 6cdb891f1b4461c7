"""``slow_close``: delay the end of the stream (the TCP FIN) by ``delay`` ms."""

from __future__ import annotations

from typing import Any, ClassVar

from drillbook.platform.local.toxiproxy.toxics import register
from drillbook.platform.local.toxiproxy.toxics.base import Link, Toxic


@register
class SlowCloseToxic(Toxic):
    """Keep the connection open for a while after the other side closed it."""

    type_name: ClassVar[str] = "slow_close"
    fields: ClassVar[dict[str, int]] = {"delay": 0}

    async def on_eof(self, link: Link, state: Any) -> None:
        """Wait ``delay`` ms before the close is passed on."""
        if self.attributes["delay"] > 0:
            await link.sleep(self.attributes["delay"] / 1000, self)
