"""A minimal Prometheus registry: counters, gauges and histograms rendered in text exposition format 0.0.4.

Small on purpose (no client library dependency); only what the stand-in exports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TypeVar

Labels = tuple[tuple[str, str], ...]

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MS_BUCKETS = tuple(b * 1000 for b in SECONDS_BUCKETS)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: Labels = ()) -> str:
    pairs = (*labels, *extra)
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> Iterable[str]:
        return ()


class Counter(_Metric):
    """A monotonically increasing count per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help_text)
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the series with these labels."""
        key = tuple(sorted(labels.items()))
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        """Current value of one series (0 when never incremented)."""
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def samples(self) -> Iterable[str]:
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(key)} {_number(value)}"


class Gauge(_Metric):
    """A value read at scrape time from a callback returning ``{labels: value}``."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, read: Callable[[], dict[Labels, float]]) -> None:
        super().__init__(name, help_text)
        self._read = read

    def samples(self) -> Iterable[str]:
        for key, value in sorted(self._read().items()):
            yield f"{self.name}{_labels(key)} {_number(value)}"


class Histogram(_Metric):
    """Cumulative buckets, sum and count per label set."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        super().__init__(name, help_text)
        self._buckets = buckets
        self._series: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        """Record one observation."""
        key = tuple(sorted(labels.items()))
        counts, totals = self._series.setdefault(key, ([0] * (len(self._buckets) + 1), [0.0]))
        for i, bound in enumerate(self._buckets):
            if value <= bound:
                counts[i] += 1
        counts[-1] += 1
        totals[0] += value

    def samples(self) -> Iterable[str]:
        for key, (counts, totals) in sorted(self._series.items()):
            for bound, count in zip((*self._buckets, math.inf), counts, strict=True):
                yield f"{self.name}_bucket{_labels(key, (('le', _number(bound)),))} {count}"
            yield f"{self.name}_sum{_labels(key)} {_number(totals[0])}"
            yield f"{self.name}_count{_labels(key)} {counts[-1]}"


class _Alias(_Metric):
    """Another metric exported again under the name a runbook queries (``orders_db_pool_max``)."""

    def __init__(self, name: str, of: _Metric) -> None:
        super().__init__(name, of.help)
        self.kind = of.kind
        self._of = of

    def samples(self) -> Iterable[str]:
        cut = len(self._of.name)
        for sample in self._of.samples():
            yield self.name + sample[cut:]


_M = TypeVar("_M", bound=_Metric)


class Registry:
    """Holds metrics in registration order and renders them."""

    CONTENT_TYPE = "text/plain; version=0.0.4"

    def __init__(self) -> None:
        self._metrics: list[_Metric] = []

    def counter(self, name: str, help_text: str) -> Counter:
        """Register and return a counter."""
        return self._add(Counter(name, help_text))

    def gauge(self, name: str, help_text: str, read: Callable[[], dict[Labels, float]]) -> Gauge:
        """Register and return a gauge read by ``read`` at scrape time."""
        return self._add(Gauge(name, help_text, read))

    def histogram(self, name: str, help_text: str, buckets: tuple[float, ...] = SECONDS_BUCKETS) -> Histogram:
        """Register and return a histogram."""
        return self._add(Histogram(name, help_text, buckets))

    def alias(self, name: str, of: str) -> bool:
        """Also export the metric called ``of`` as ``name``; False when no metric is called ``of``."""
        for metric in self._metrics:
            if metric.name == of:
                self._add(_Alias(name, metric))
                return True
        return False

    def _add(self, metric: _M) -> _M:
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        """The whole registry in text exposition format."""
        lines: list[str] = []
        for metric in self._metrics:
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"


def single(value: float) -> dict[Labels, float]:
    """A gauge reading with no labels."""
    return {(): value}
