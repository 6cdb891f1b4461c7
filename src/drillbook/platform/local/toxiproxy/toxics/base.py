"""The toxic contract: one small required ability (``pipe``) and optional ones (``run``, ``on_eof``).

A toxic sits in a proxy's chain for one stream (upstream = client→server, downstream = server→client).
Every connection's link applies it to the chunks it carries; ``toxicity`` is rolled once per link.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from drillbook.platform.local.toxiproxy.errors import INVALID_STREAM, bad_request

Stream = Literal["upstream", "downstream"]
STREAMS: tuple[Stream, ...] = ("upstream", "downstream")


@dataclass
class Chunk:
    """Bytes read from one side, stamped with the loop time they arrived at."""

    data: bytes
    timestamp: float


class Link(Protocol):
    """What a toxic may do to the connection it acts on."""

    async def sleep(self, seconds: float, toxic: Toxic) -> bool:
        """Sleep unless ``toxic`` is removed or updated meanwhile; False when interrupted."""
        ...

    def now(self) -> float:
        """The loop clock chunks are stamped with."""
        ...

    def close(self, *, reset: bool = False) -> None:
        """Close both sides of the connection (``reset``: with TCP RST instead of FIN)."""
        ...


class Toxic:
    """A named, typed fault with integer attributes; subclasses set ``type_name`` and ``fields``."""

    type_name: ClassVar[str]
    #: Attribute names with their defaults; all Toxiproxy toxic attributes are integers.
    fields: ClassVar[Mapping[str, int]]

    def __init__(self, name: str, stream: Stream, toxicity: float, attributes: Mapping[str, int]) -> None:
        self.name = name
        self.stream = stream
        self.toxicity = toxicity
        self.attributes = {key: int(attributes.get(key, default)) for key, default in self.fields.items()}
        self.validate()

    def validate(self) -> None:
        """Refuse negative attributes; subclasses add their own rules."""
        for key, value in self.attributes.items():
            if value < 0:
                raise bad_request(f"{self.type_name}: {key} must be >= 0, got {value}")

    def to_json(self) -> dict[str, Any]:
        """The JSON Toxiproxy returns for a toxic."""
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type_name,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }

    def new_state(self) -> Any:
        """Per-link state (counters, clocks); None when the toxic needs none."""
        return None

    async def pipe(self, chunk: Chunk, link: Link, state: Any) -> AsyncIterator[Chunk]:
        """Transform one chunk: delay, split, drop or pass it on (an async generator)."""
        yield chunk

    async def run(self, link: Link, state: Any) -> None:
        """Act on the link regardless of data, from the moment the toxic applies to it (timers)."""
        return

    async def on_eof(self, link: Link, state: Any) -> None:
        """Called before the end of the stream is passed on (slow_close delays it)."""
        return

    async def on_remove(self, link: Link, state: Any) -> None:
        """Called when the toxic leaves a live link (timeout closes it: the stream lost data)."""
        return


def parse_stream(value: object) -> Stream:
    """Validate a ``stream`` field."""
    if value == "upstream":
        return "upstream"
    if value == "downstream":
        return "downstream"
    raise INVALID_STREAM


def parse_toxicity(value: object) -> float:
    """Validate a ``toxicity`` field (a probability)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"toxicity must be a number between 0 and 1, got {value!r}")
    number = float(value)
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise bad_request(f"toxicity must be between 0 and 1, got {value!r}")
    return number


def parse_attributes(toxic_type: str, fields: Mapping[str, int], raw: object) -> dict[str, int]:
    """Validate ``attributes``: an object of integers; unknown keys are ignored, as Toxiproxy's decoder does."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request(f"attributes must be an object, got {raw!r}")
    parsed: dict[str, int] = {}
    for key in fields:
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            raise bad_request(f"{toxic_type}: attribute {key!r} must be an integer, got {value!r}")
        parsed[key] = int(value)
    return parsed
