"""SLO, alert-trigger and time-target sentences: one sentence in, one typed value (or ``None``) out.

Convention: an :class:`~drillbook.runbook.model.Slo` always states what *good* looks like. A sentence that
describes the bad side (an alert condition such as ``"P95 latency > 3 seconds"``) is turned around with the
strict opposite operator (``latency_p95 < 3000 ms``): alert thresholds are lines, not exact boundaries, and
the SLO checks compare against the same line either way. Metrics where more is better (availability,
success rates, throughput) keep ``>``/``>=``; for the rest a stated ``>`` becomes ``<``.
Latency thresholds are normalised to milliseconds; other durations (MTTR, replication lag) to seconds.
"""

from __future__ import annotations

import re

from drillbook.runbook.model import AlertTrigger, Comparison, Slo

_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
_UNIT = (
    r"(%|percent\b|milliseconds?\b|ms\b|seconds?\b|secs?\b|s\b|minutes?\b|mins?\b|m\b|hours?\b|hrs?\b|h\b|"
    r"rps\b|req(?:uests?)?\s*/\s*s(?:ec(?:ond)?)?\b|requests per second\b|per (?:minute|second|hour)\b)?"
)
_WORD_OPS: dict[str, Comparison] = {
    "below": "<",
    "under": "<",
    "less than": "<",
    "at most": "<=",
    "above": ">",
    "over": ">",
    "more than": ">",
    "greater than": ">",
    "exceeds": ">",
    "exceed": ">",
    "at least": ">=",
}
_SYMBOL_OPS: dict[str, Comparison] = {
    "<=": "<=",
    "=<": "<=",
    "≤": "<=",
    ">=": ">=",
    "=>": ">=",
    "≥": ">=",
    "<": "<",
    ">": ">",
    "==": "==",
}
_OPERATOR = r"(<=|>=|=<|=>|≤|≥|==|<|>|" + "|".join(rf"\b{w}\b" for w in _WORD_OPS) + ")"
_DIGIT = re.compile(r"\d")
_COMPARISON = re.compile(rf"{_OPERATOR}\s*~?\s*{_NUMBER}\s*{_UNIT}", re.IGNORECASE)
_BARE_VALUE = re.compile(rf"{_NUMBER}\s*{_UNIT}", re.IGNORECASE)
_FOR_DURATION = re.compile(
    r"\b(?:for|in|over|within)\s+(?:the\s+last\s+)?(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:(?:-|–|to)\s*(\d+(?:\.\d+)?)\s*)?"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)\b",
    re.IGNORECASE,
)
_SECONDS_PER = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PERCENTILE = re.compile(r"\bp\s?(50|75|90|95|99)\b|\b(50|75|90|95|99)(?:th)?\s+percentile\b", re.IGNORECASE)
_HIGHER_IS_BETTER = ("availability", "success_rate", "throughput", "apdex")
_FLIP: dict[Comparison, Comparison] = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}
_FILLER = {
    "high",
    "low",
    "the",
    "a",
    "an",
    "of",
    "for",
    "is",
    "are",
    "rate",
    "count",
    "total",
    "usage",
    "used",
    "percent",
    "level",
    "alert",
    "trigger",
    "api",
    "connection",
}
_DB_WORDS = re.compile(r"\b(database|db|query|queries|sql|postgres(?:ql)?|mongo(?:db)?|mysql)\b")


def duration_seconds(text: str) -> float | None:
    """The upper bound of the first duration in ``text`` in seconds (``"15-30 minutes"`` → 1800), or ``None``."""
    match = _DURATION.search(text)
    if match is None:
        return None
    value = float(match.group(2) or match.group(1))
    return value * _SECONDS_PER[_unit_key(match.group(3))]


def parse_slo_text(text: str, line: int = 0) -> Slo | None:
    """Read one SLO sentence such as ``"Error Rate: <1% of requests"`` or ``"P95 latency > 3 seconds"``.

    Args:
        text: the sentence as written (markdown emphasis, code spans and table pipes are ignored).
        line: source line recorded on the result.

    Returns:
        The objective stated as its good side (see the module docstring), or ``None`` when the text names
        no metric with a numeric threshold.
    """
    if _DIGIT.search(text) is None:
        return None  # every objective has a number: most sentences have none
    clean = _clean(_FOR_DURATION.sub(" ", text))
    stated: Comparison | None = None
    match = _COMPARISON.search(clean)
    if match is not None:
        stated = _operator(match.group(1))
        number, unit_text = match.group(2), match.group(3)
        subject = clean[: match.start()] + " " + clean[match.end() :]
    else:
        match = _BARE_VALUE.search(clean)
        if match is None:
            return None
        number, unit_text = match.group(1), match.group(2)
        subject = clean[: match.start()] + " " + clean[match.end() :]
    code = re.search(r"`([a-zA-Z][a-zA-Z0-9_:]*)`", text)
    metric = _metric(subject, clean, unit_text, code.group(1) if code else "")
    if metric is None:
        return None
    threshold, unit = _normalise(float(number.replace(",", "")), _unit_name(unit_text), metric)
    higher_is_better = any(metric.endswith(name) for name in _HIGHER_IS_BETTER)
    if stated is None:
        op: Comparison = ">=" if higher_is_better else "<"
    elif higher_is_better == (stated in ("<", "<=")):
        op = _FLIP[stated]
    else:
        op = stated
    return Slo(metric=metric, op=op, threshold=threshold, unit=unit, text=text.strip(), line=line)


def parse_alert_text(text: str, line: int = 0, name: str = "") -> AlertTrigger | None:
    """Read one alert condition such as ``"`http_errors_total` > 5% for 2 minutes"``.

    Args:
        text: the trigger as written.
        line: source line recorded on the result.
        name: alert name; defaults to the metric expression.

    Returns:
        The trigger as stated (operator, threshold and unit as written, ``for_seconds`` from "for N minutes"
        or "in N minutes") with ``slo`` set to its good side, or ``None`` without a comparison.
    """
    if _DIGIT.search(text) is None:
        return None  # a comparison needs a number: most headings and labels have none
    clean = _clean(text)
    match = _COMPARISON.search(clean)
    if match is None:
        return None
    code = re.search(r"`([^`]+)`", text)
    before = re.sub(r"\s+", " ", re.sub(r"[()]", " ", clean[: match.start()])).strip(" :-")
    metric = code.group(1).strip() if code else before or clean[match.end() :].strip()
    if not metric:
        return None
    window = _FOR_DURATION.search(clean)
    for_seconds = float(window.group(1)) * _SECONDS_PER[_unit_key(window.group(2))] if window else None
    return AlertTrigger(
        name=name or metric,
        metric=metric,
        op=_operator(match.group(1)),
        threshold=float(match.group(2).replace(",", "")),
        unit=_unit_name(match.group(3)),
        for_seconds=for_seconds,
        text=text.strip(),
        line=line,
        slo=parse_slo_text(text, line),
    )


_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    text = text.replace("**", " ").replace("`", " ").replace("|", " ")
    return _SPACES.sub(" ", text).strip()


def _operator(token: str) -> Comparison:
    return _SYMBOL_OPS.get(token) or _WORD_OPS[token.casefold()]


def _unit_key(unit: str) -> str:
    unit = unit.casefold()
    if unit.startswith("ms") or unit.startswith("milli"):
        return "ms"
    if unit.startswith("mi") or unit == "m":
        return "m"
    return unit[0]


def _unit_name(unit: str | None) -> str:
    if not unit:
        return ""
    lowered = unit.casefold()
    if lowered in ("%", "percent"):
        return "%"
    if lowered.startswith("per "):
        return lowered
    if lowered.startswith("r"):
        return "rps"
    return {"ms": "ms", "s": "s", "m": "min", "h": "h"}[_unit_key(lowered)]


def _normalise(value: float, unit: str, metric: str) -> tuple[float, str]:
    factors = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}
    if unit not in factors:
        return value, unit
    seconds = value * factors[unit]
    if "latency" in metric:
        return round(seconds * 1000, 6), "ms"
    return round(seconds, 6), "s"


def _metric(subject: str, whole: str, unit_text: str | None, code: str) -> str | None:
    words = re.sub(r"[_\-/]", " ", subject.casefold())
    everything = re.sub(r"[_\-/]", " ", whole.casefold())
    db = "db_" if _DB_WORDS.search(words) else ""
    if "success rate" in words:
        prefix = _slug(words.split("success rate")[0])
        return f"{prefix}_success_rate" if prefix else "success_rate"
    if re.search(r"\berrors?\b|\b5xx\b|\bfailure rate\b", words):
        return "error_rate"
    if re.search(r"\buptime\b|\bavailab", words):
        return "availability"
    if re.search(r"\bmttr\b|time to (?:recover|restore|resolve)", words):
        return "mttr"
    if "restart" in words:
        return "pod_restarts"
    if re.search(r"\blag\b", words):
        return "replication_lag"
    if re.search(r"\bcpu\b", words):
        return "cpu"
    if re.search(r"\bmemory\b|\bheap\b|\bmem\b|\brss\b", words):
        return "memory"
    if re.search(r"\bconnections?\b", words):
        if "websocket" in words:
            return "websocket_connections"
        return f"{db}connections"
    percentile = _PERCENTILE.search(everything)
    timed = _unit_name(unit_text) in ("ms", "s", "min")
    if percentile or timed or re.search(r"latency|response time|duration|query time|\bslow\b", words):
        suffix = f"_p{percentile.group(1) or percentile.group(2)}" if percentile else ""
        return f"{db}latency{suffix}"
    if re.search(r"throughput|\brps\b|requests? per second|req s", everything):
        return "throughput"
    if code:
        # A Prometheus metric name says more than a filler-stripped slug of it.
        return re.sub(r"_(total|count|percent|seconds|bytes)$", "", code.casefold())
    return _slug(words) or None


def _slug(words: str) -> str:
    tokens = [t for t in re.findall(r"[a-z][a-z0-9]*", words) if t not in _FILLER]
    return "_".join(tokens[:4])
