"""``noop``: passes every byte through unchanged (Toxiproxy's placeholder toxic, no attributes)."""

from __future__ import annotations

from typing import ClassVar

from drillbook.platform.local.toxiproxy.toxics import register
from drillbook.platform.local.toxiproxy.toxics.base import Toxic


@register
class NoopToxic(Toxic):
    """Sits in the chain and changes nothing: the base class's ``pipe`` yields each chunk as it came."""

    type_name: ClassVar[str] = "noop"
    fields: ClassVar[dict[str, int]] = {}
