"""A strict little parser for Prometheus text exposition, so tests check the format rather than grep it."""

from __future__ import annotations

import re

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')

Sample = tuple[str, dict[str, str], float]


def parse(text: str) -> tuple[dict[str, str], list[Sample]]:
    """Return ``({metric: type}, [(name, labels, value)])``; raise ValueError on any malformed line."""
    types: dict[str, str] = {}
    samples: list[Sample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if kind not in {"counter", "gauge", "histogram", "summary", "untyped"}:
                raise ValueError(f"line {number}: unknown type {kind!r}")
            types[name] = kind
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise ValueError(f"line {number}: not a sample: {line!r}")
        labels: dict[str, str] = {}
        raw = match.group(3) or ""
        pos = 0
        while pos < len(raw):
            lm = _LABEL.match(raw, pos)
            if lm is None:
                raise ValueError(f"line {number}: bad labels {raw!r}")
            labels[lm.group(1)] = lm.group(2)
            pos = lm.end()
        samples.append((match.group(1), labels, float(match.group(4))))
    return types, samples


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The value of the one sample with this name whose labels include ``labels``."""
    found = [v for n, lab, v in samples if n == name and all(lab.get(k) == w for k, w in labels.items())]
    if len(found) != 1:
        raise KeyError(f"expected one sample {name}{labels}, found {len(found)}")
    return found[0]
