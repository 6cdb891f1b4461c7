"""The parameters a fault declares: name, type, default, allowed values and a one-line help each.

Drills give fault parameters as text (``When the "latency" fault is injected with latency_ms "1500"``). Each fault
class lists what it takes in ``parameters``; :func:`check_params` reads the text against that schema, so an unknown
name or a bad value is refused before anything is provisioned (at collection for the pytest plugin, and when the
fault is built for everyone else), with the list of what the fault does take.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from drillbook.errors import ScenarioError

ParamValue = int | float | str
ParamType = Literal["int", "float", "str"]


class FaultParameterError(ScenarioError):
    """A drill gave a fault a parameter it does not take, or a value outside what it allows: fix the drill."""


@dataclass(frozen=True)
class Param:
    """One parameter of a fault."""

    name: str
    type: ParamType
    help: str
    """One line: what the parameter changes."""
    default: ParamValue | None = None
    """Used when the drill does not give the parameter; ``None``: the fault works without it (see ``help``)."""
    unit: str = ""
    """Shown after the type (``ms``, ``s``, ``MB/s``)."""
    choices: tuple[str, ...] = ()
    """The only values allowed (for modes); empty: any value of the type."""
    min: float | None = None
    """The smallest allowed number, inclusive unless ``min_exclusive``."""
    min_exclusive: bool = False
    max: float | None = None
    """The largest allowed number, inclusive."""
    required: bool = False
    """The drill must give it (there is no sensible default)."""

    def describe(self) -> str:
        """``latency_ms (int, ms, default 1000)``: how the parameter is listed in messages and ``drillbook list``."""
        kind = "|".join(self.choices) if self.choices else self.type
        parts = [kind, *([self.unit] if self.unit else []), *self._range()]
        if self.required:
            parts.append("required")
        elif self.default is not None:
            parts.append(f"default {self.default}")
        return f"{self.name} ({', '.join(parts)})"

    def _range(self) -> list[str]:
        found = []
        if self.min is not None:
            found.append(f"{'>' if self.min_exclusive else '>='} {self.min:g}")
        if self.max is not None:
            found.append(f"<= {self.max:g}")
        return found

    def parse(self, raw: str) -> ParamValue:
        """The typed value of ``raw``; :class:`ValueError` saying what is allowed when it is not."""
        if self.choices:
            if raw not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}")
            return raw
        if self.type == "str":
            if not raw:
                raise ValueError("must be a non-empty text")
            return raw
        value: int | float
        try:
            value = int(raw) if self.type == "int" else float(raw)
        except ValueError:
            raise ValueError(f"must be {'an integer' if self.type == 'int' else 'a number'}") from None
        if not math.isfinite(value) or not self._in_range(value):
            raise ValueError(f"must be {' and '.join(self._range())}")
        return value

    def _in_range(self, value: float) -> bool:
        if self.min is not None and (value <= self.min if self.min_exclusive else value < self.min):
            return False
        return self.max is None or value <= self.max


def describe_params(parameters: Sequence[Param]) -> str:
    """Every parameter of a fault, comma-separated (``none`` for a fault that takes none)."""
    return ", ".join(p.describe() for p in parameters) or "none"


def check_params(fault: str, parameters: Sequence[Param], given: Mapping[str, str]) -> dict[str, ParamValue]:
    """Read ``given`` against the fault's schema: every parameter typed, defaults filled in.

    Args:
        fault: The fault's registry name, for messages.
        parameters: The fault's schema.
        given: The parameters as the drill wrote them.

    Returns:
        Each parameter's value (given, else its default); parameters with no default and not given are absent.

    Raises:
        FaultParameterError: The first unknown name or bad value, with what the fault takes.
    """
    by_name = {p.name: p for p in parameters}
    for name in given:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise FaultParameterError(
                f'fault "{fault}" has no parameter "{name}"{hint}; it takes: {describe_params(parameters)}'
            )
    values: dict[str, ParamValue] = {}
    for param in parameters:
        raw = given.get(param.name)
        if raw is None:
            if param.required:
                raise FaultParameterError(
                    f'fault "{fault}" needs the parameter "{param.name}" ({param.help}); '
                    f'give it as: with {param.name} "…"; it takes: {describe_params(parameters)}'
                )
            if param.default is not None:
                values[param.name] = param.default
            continue
        try:
            values[param.name] = param.parse(raw)
        except ValueError as exc:
            raise FaultParameterError(
                f'fault "{fault}": parameter "{param.name}" {exc}, got "{raw}"; it is {param.describe()}: {param.help}'
            ) from None
    return values
