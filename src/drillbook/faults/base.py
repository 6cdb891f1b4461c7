"""The fault contract: inject → revert, with the revert journaled before the change it undoes.

A fault is one module in this package that subclasses :class:`Fault` and decorates the class with
:func:`register`. Used as a context manager a fault records how to undo itself (as data, so
``drillbook cleanup`` can undo it after a killed run), applies itself, and always reverts on the way
out — on success, on an exception inside the block and on Ctrl-C. ``revert`` is idempotent.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypeVar

from drillbook.errors import FaultInjectionError, ScenarioError
from drillbook.faults.params import Param, ParamValue, check_params
from drillbook.faults.target import FaultTarget

T = TypeVar("T")
JsonValue = str | int | float | bool | None | list[Any] | dict[str, Any]


@dataclass(frozen=True)
class RevertRecord:
    """How to undo a fault, as data: enough for ``drillbook cleanup`` to do it in another process."""

    fault: str
    description: str
    spec: Mapping[str, JsonValue]


class RevertJournal(Protocol):
    """Where a fault records its revert before applying itself (the drill's journal)."""

    def record_revert(self, record: RevertRecord) -> None:
        """Persist the record durably before returning."""


class Fault(abc.ABC):
    """One kind of fault. Subclasses set ``name``, ``symptoms`` and implement the three hooks."""

    name: ClassVar[str]
    """Registry name used by drills: ``pool-exhaustion``, ``redis-outage``…"""
    symptoms: ClassVar[tuple[str, ...]]
    """SLO metrics this fault should move (``error_rate``, ``latency_p95``): a drill that never sees them is vacuous."""
    summary: ClassVar[str]
    """One line for help text and reports."""
    persists_until_reverted: ClassVar[bool] = False
    """Nothing inside the sandbox lifts it while it is applied: only drillbook's revert (or an action aimed at it)
    does. A recovery watch may then end early once no runbook action ran and the breach has never lifted
    (``drill/session.py``). Leave ``False`` when the system's own controllers could work around it."""
    regrows_after_restart: ClassVar[bool] = False
    """The fault lives in the app's build (a leak): a restart clears what it accumulated, not the fault, which then
    grows back about as fast as it first appeared. A restore while it is still deployed may not last, and the
    verdict says so (:meth:`still_in_place`)."""
    parameters: ClassVar[tuple[Param, ...] | None] = None
    """Every parameter the fault takes (:mod:`drillbook.faults.params`); a drill giving any other, or a bad value,
    is refused before anything runs. Every built-in fault declares its own; ``None`` (a fault written before
    schemas) takes its parameters unchecked."""

    def __init__(
        self,
        target: FaultTarget | None = None,
        params: Mapping[str, str] | None = None,
        *,
        journal: RevertJournal | None = None,
    ) -> None:
        self._target = target
        self.params = dict(params or {})
        self.options = self.check_params(self.params)
        """The parameters, typed and checked against :attr:`parameters`, defaults filled in."""
        self.journal = journal
        self.injected = False
        self.reverted = False
        self.injected_at: float | None = None
        """``time.time()`` when :meth:`inject` began (None before)."""
        self._record: RevertRecord | None = None

    @classmethod
    def check_params(cls, given: Mapping[str, str]) -> dict[str, ParamValue]:
        """The drill's parameters read against this fault's schema, defaults filled in.

        A fault with rules between parameters (a mode that needs another one) extends this.

        Raises:
            FaultParameterError: An unknown parameter, a bad value or a missing required one.
        """
        if cls.parameters is None:
            return dict(given)
        return check_params(cls.name, cls.parameters, given)

    @property
    def target(self) -> FaultTarget:
        """The system this fault acts on; a fault built without one cannot be injected."""
        if self._target is None:
            raise FaultInjectionError(f"fault {self.name!r} has no target system; build it with a FaultTarget")
        return self._target

    def require(self, value: T | None, what: str) -> T:
        """A target attribute this fault needs; missing means the scenario lacks it."""
        if value is None:
            raise FaultInjectionError(f"fault {self.name!r} needs {what}, which this scenario does not provide")
        return value

    @abc.abstractmethod
    def revert_record(self) -> RevertRecord:
        """Describe, as data, how to undo what :meth:`apply` is about to do."""

    @abc.abstractmethod
    def apply(self) -> None:
        """Make the fault happen. Raise :class:`FaultInjectionError` if it cannot."""

    @classmethod
    @abc.abstractmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        """Undo a fault from its journaled record alone (also from another process, after a killed run).

        Must be safe when the fault was applied half-way, never, or was already undone.
        """

    def undo(self) -> None:
        """Undo this fault from the record journaled at injection."""
        record = self._record or self.revert_record()
        self.undo_from_spec(record.spec)

    def still_in_place(self) -> bool | None:
        """Whether the system still carries the fault (a runbook's rollback may have removed it); ``None``: this
        fault cannot tell. Read before drillbook reverts it."""
        return None

    def sandbox_age_s(self, now: float | None = None) -> float:
        """How old the fault is in the sandbox, in seconds: the most any state it created (a leaked connection's
        ``backend_start``/``query_start``) can have aged. A runbook filter that needs older state (``query_start <
        now() - interval '10 minutes'``) cannot match it; drillbook never forges timestamps to make it match."""
        if self.injected_at is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self.injected_at)

    def inject(self) -> None:
        """Journal the revert, then apply the fault."""
        self.injected_at = time.time()
        record = self.revert_record()
        self._record = record
        if self.journal is not None:
            self.journal.record_revert(record)
        self.injected = True
        try:
            self.apply()
        except FaultInjectionError:
            self.revert()
            raise
        except Exception as exc:
            self.revert()
            raise FaultInjectionError(f"fault {self.name!r} could not be injected: {exc}") from exc

    def revert(self) -> None:
        """Undo the fault once; later calls do nothing."""
        if self.reverted or not self.injected:
            return
        self.reverted = True
        try:
            self.undo()
        except Exception as exc:
            raise FaultInjectionError(
                f"fault {self.name!r} could not be reverted: {exc}; run `drillbook cleanup` to retry"
            ) from exc

    def __enter__(self) -> Self:
        self.inject()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.revert()

    def text(self, key: str, default: str | None = None) -> str:
        """A text parameter: the drill's value, else the schema's default, else ``default``."""
        return str(self._option(key, default))

    def number(self, key: str, default: float | None = None) -> float:
        """A numeric parameter, typed by the schema (a fault with no schema has its text read here)."""
        value = self._option(key, default)
        try:
            return float(value)
        except ValueError:
            raise ScenarioError(f"fault {self.name!r}: parameter {key!r} must be a number, got {value!r}") from None

    def integer(self, key: str, default: int | None = None) -> int:
        """An integer parameter, typed by the schema (a fault with no schema has its text read here)."""
        value = self._option(key, default)
        if isinstance(value, int):
            return value
        try:
            return int(str(value))
        except ValueError:
            raise ScenarioError(f"fault {self.name!r}: parameter {key!r} must be an integer, got {value!r}") from None

    def _option(self, key: str, default: ParamValue | None) -> ParamValue:
        value = self.options.get(key, default)
        if value is None:  # only a parameter with no schema default that the drill did not give
            raise ScenarioError(f'fault {self.name!r} needs the parameter {key!r}; give it as: with {key} "…"')
        return value


F = TypeVar("F", bound=type["Fault"])

_REGISTRY: dict[str, type[Fault]] = {}


def register(cls: F) -> F:
    """Class decorator: make a fault available under its ``name``."""
    existing = _REGISTRY.get(cls.name)
    if existing is not None and _where(existing) != _where(cls):  # a module imported again replaces its own
        raise ValueError(f"two faults named {cls.name!r}: {existing.__module__} and {cls.__module__}")
    _REGISTRY[cls.name] = cls
    return cls


def _where(cls: type[Fault]) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


def fault_class(name: str) -> type[Fault]:
    """The fault registered under ``name``; an unknown name is a scenario error listing what exists."""
    load_builtin_faults()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ScenarioError(f"unknown fault {name!r}; available faults: {known}") from None


def available_faults() -> dict[str, type[Fault]]:
    """Every registered fault by name."""
    load_builtin_faults()
    return dict(sorted(_REGISTRY.items()))


def load_builtin_faults() -> None:
    """Import every fault module in this package so each registers itself."""
    import importlib
    import pkgutil

    import drillbook.faults as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in {"base", "target"} and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
