"""Toxiproxy's proxy metrics: bytes received from and sent to each side, per proxy, in the Prometheus text format.

Counters are ``toxiproxy_proxy_received_bytes_total`` and ``toxiproxy_proxy_sent_bytes_total`` with the labels
``direction`` (upstream = client to server), ``listener``, ``proxy`` and ``upstream``; like Prometheus counters they
only grow for the life of the process, also across a proxy's deletion and re-creation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drillbook.platform.local.toxiproxy.toxics.base import STREAMS, Stream

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FAMILIES = (
    ("toxiproxy_proxy_received_bytes_total", "The total bytes received on a given proxy link in a given direction"),
    ("toxiproxy_proxy_sent_bytes_total", "The total bytes sent on a given proxy link in a given direction"),
)


@dataclass
class ByteMeter:
    """Byte counts of one proxy (one label set), by direction."""

    received: dict[Stream, int] = field(default_factory=lambda: dict.fromkeys(STREAMS, 0))
    sent: dict[Stream, int] = field(default_factory=lambda: dict.fromkeys(STREAMS, 0))


class TrafficMetrics:
    """Every proxy's meter, keyed by (proxy, listener, upstream)."""

    def __init__(self) -> None:
        self._meters: dict[tuple[str, str, str], ByteMeter] = {}

    def meter(self, proxy: str, listener: str, upstream: str) -> ByteMeter:
        """The meter for this label set (created on first use)."""
        return self._meters.setdefault((proxy, listener, upstream), ByteMeter())

    def render(self) -> str:
        """``GET /metrics``: only label sets that carried traffic, sorted like the Go client library does."""
        lines: list[str] = []
        for index, (family, help_text) in enumerate(_FAMILIES):
            samples = []
            for (proxy, listener, upstream), meter in sorted(self._meters.items()):
                counts = meter.received if index == 0 else meter.sent
                for direction in sorted(STREAMS):
                    if meter.received[direction] or meter.sent[direction]:
                        labels = (
                            f'direction="{direction}",listener="{_escape(listener)}",proxy="{_escape(proxy)}",'
                            f'upstream="{_escape(upstream)}"'
                        )
                        samples.append(f"{family}{{{labels}}} {counts[direction]}")
            if samples:
                lines += [f"# HELP {family} {help_text}", f"# TYPE {family} counter", *samples]
        return "\n".join(lines) + "\n" if lines else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
