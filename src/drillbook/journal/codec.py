"""Events to JSON lines and back, checked against the dataclasses' own type hints.

Decoding is strict about the fields it knows (a wrong type is an error naming the field) and lenient
about fields it does not know (ignored), so an older drillbook can read a newer journal.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from enum import Enum
from typing import Any

from drillbook.journal.events import EVENT_CLASSES, Event, EventType


class EventDecodeError(ValueError):
    """A JSON object that is not a valid event; the message names the field."""


class UnknownEventType(EventDecodeError):
    """A ``type`` this drillbook does not know (written by a newer version)."""


def encode(event: Event) -> str:
    """One event as one JSON line (without the newline)."""
    body: dict[str, Any] = {"type": event.type.value}
    body.update(dataclasses.asdict(event))
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def decode(line: str) -> Event:
    """Parse one JSON line into its event dataclass.

    Raises:
        EventDecodeError: the line is not JSON or a field has the wrong type.
        UnknownEventType: the ``type`` is not one this version knows.
    """
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventDecodeError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(raw, dict):
        raise EventDecodeError(f"expected a JSON object, got {type(raw).__name__}")
    name = raw.get("type")
    if not isinstance(name, str):
        raise EventDecodeError(f"expected a string 'type' field, got {name!r}")
    try:
        cls = EVENT_CLASSES[EventType(name)]
    except ValueError as exc:
        raise UnknownEventType(f"unknown event type {name!r}") from exc
    event: Event = _decode_dataclass(cls, raw, name)
    return event


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode_dataclass(cls: type, raw: dict[str, Any], where: str) -> Any:
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise EventDecodeError(f"{where}: missing field {f.name!r}")
            continue
        kwargs[f.name] = _decode_value(hints[f.name], raw[f.name], f"{where}.{f.name}")
    return cls(**kwargs)


def _decode_value(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _decode_union(typing.get_args(tp), value, where)
    if origin is list:
        if not isinstance(value, list):
            raise EventDecodeError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_decode_value(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise EventDecodeError(f"{where}: expected an object, got {value!r}")
        _, item = typing.get_args(tp)
        return {str(k): _decode_value(item, v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError as exc:
            allowed = ", ".join(str(m.value) for m in tp)
            raise EventDecodeError(f"{where}: expected one of {allowed}, got {value!r}") from exc
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise EventDecodeError(f"{where}: expected an object, got {value!r}")
        return _decode_dataclass(tp, value, where)
    return _decode_scalar(tp, value, where)


def _decode_union(options: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None:
        if type(None) in options:
            return None
        raise EventDecodeError(f"{where}: expected a value, got null")
    problems: list[str] = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _decode_value(option, value, where)
        except EventDecodeError as exc:
            problems.append(str(exc))
    raise EventDecodeError(problems[0] if len(problems) == 1 else f"{where}: unexpected value {value!r}")


def _decode_scalar(tp: Any, value: Any, where: str) -> Any:
    # bool is an int in Python but never a number in the journal.
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, str):
        return value
    if tp is type(None) and value is None:
        return None
    name = getattr(tp, "__name__", str(tp))
    raise EventDecodeError(f"{where}: expected {name}, got {value!r}")
