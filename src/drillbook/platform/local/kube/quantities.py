"""Resource quantities: parsed to numbers, and rewritten in the canonical form the API server stores.

Canonical form matters beyond looks: ``kubectl rollout undo`` sends a ReplicaSet's template re-encoded by Go
(``1000m`` becomes ``1``), and the deployment controller must still recognise it as that ReplicaSet's template.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

_BINARY = (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10))
_DECIMAL = (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3), ("", 0), ("m", -3), ("u", -6), ("n", -9))


def _value(text: str) -> tuple[Decimal, bool]:
    """The quantity's value and whether it was written with a binary suffix."""
    for suffix, power in _BINARY:
        if text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * (2**power), True
    for suffix, exponent in _DECIMAL:
        if suffix and text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * (Decimal(10) ** exponent), False
    return Decimal(text), False


def parse_quantity(value: Any) -> float:
    """A quantity as a plain number: ``250m`` -> 0.25, ``256Mi`` -> 268435456, ``1G`` -> 1e9."""
    return float(_value(str(value).strip())[0])


def canonical_quantity(value: Any) -> Any:
    """Upstream's canonical spelling (``1000m`` -> ``1``, ``0.5`` -> ``500m``, ``1024Mi`` -> ``1Gi``).

    Values that are not quantities (or use exponent notation) are returned unchanged.
    """
    text = str(value).strip()
    if not text or "e" in text.lower().rstrip("ei"):
        return value
    try:
        number, binary = _value(text)
    except InvalidOperation:
        return value
    if number == 0:
        return "0"
    if binary and number == number.to_integral_value():
        whole = int(number)
        for suffix, power in _BINARY:
            if whole % (2**power) == 0:
                return f"{whole // 2**power}{suffix}"
        if whole >= 0:
            return str(whole)
    for suffix, exponent in _DECIMAL:
        mantissa = number / (Decimal(10) ** exponent)
        if mantissa == mantissa.to_integral_value() and abs(mantissa) >= 1:
            return f"{int(mantissa)}{suffix}"
    return "1n"  # below a nanounit rounds up, like upstream
