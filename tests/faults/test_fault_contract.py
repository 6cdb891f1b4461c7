"""Every fault follows one contract: revert journaled first, applied, always reverted once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest

from drillbook.errors import FaultInjectionError, ScenarioError
from drillbook.faults.base import Fault, JsonValue, RevertRecord, fault_class


class _Journal:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def record_revert(self, record: RevertRecord) -> None:
        self.log.append(f"journal:{record.fault}")


class _Recording(Fault):
    name: ClassVar[str] = "recording"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate",)
    summary: ClassVar[str] = "records what happens to it"

    def __init__(self, log: list[str], *, fail_apply: bool = False) -> None:
        super().__init__(None, {"n": "3"}, journal=_Journal(log))
        self.log = log
        self.fail_apply = fail_apply

    def revert_record(self) -> RevertRecord:
        return RevertRecord(self.name, "undo the recording", {"n": 3, "log": self.log})

    def apply(self) -> None:
        self.log.append("apply")
        if self.fail_apply:
            raise RuntimeError("half applied")

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        log = spec["log"]
        assert isinstance(log, list)
        log.append("undo")


def test_the_revert_is_journaled_before_the_fault_is_applied() -> None:
    log: list[str] = []
    with _Recording(log):
        log.append("inside")
    assert log == ["journal:recording", "apply", "inside", "undo"]


def test_the_revert_runs_when_the_code_inside_raises() -> None:
    log: list[str] = []
    with pytest.raises(ValueError, match="step failed"), _Recording(log):
        raise ValueError("step failed")
    assert log[-1] == "undo"


def test_the_revert_runs_on_keyboard_interrupt() -> None:
    log: list[str] = []
    with pytest.raises(KeyboardInterrupt), _Recording(log):
        raise KeyboardInterrupt
    assert log[-1] == "undo"


def test_revert_is_idempotent() -> None:
    log: list[str] = []
    fault = _Recording(log)
    fault.inject()
    fault.revert()
    fault.revert()
    assert log.count("undo") == 1


def test_a_half_applied_fault_is_reverted_and_reported_as_an_injection_error() -> None:
    log: list[str] = []
    with pytest.raises(FaultInjectionError, match="could not be injected: half applied"):
        _Recording(log, fail_apply=True).inject()
    assert log == ["journal:recording", "apply", "undo"]


def test_an_unknown_fault_name_lists_the_available_ones() -> None:
    with pytest.raises(ScenarioError, match="unknown fault 'no-such-fault'; available faults:"):
        fault_class("no-such-fault")


def test_a_fault_without_a_schema_has_its_text_read_and_a_bad_integer_named() -> None:
    fault = _Recording([])
    assert fault.integer("n") == 3
    assert fault.number("n") == 3.0
    assert fault.integer("absent", 7) == 7
    fault.options["n"] = "three"
    with pytest.raises(ScenarioError, match="'recording': parameter 'n' must be an integer"):
        fault.integer("n")
    with pytest.raises(ScenarioError, match="'recording' needs the parameter 'absent'"):
        fault.text("absent")


def test_a_schema_fault_reads_typed_values_and_the_schema_defaults() -> None:
    latency = fault_class("latency")(None, {"latency_ms": "1500"})
    assert latency.integer("latency_ms") == 1500
    assert latency.integer("jitter_ms") == 0
    assert latency.text("stream") == "downstream"
    leak = fault_class("memory-leak")(None, {})
    assert leak.number("mb_per_s") == 20.0
    assert fault_class("pool-exhaustion")(None, {"eager_s": "0.5"}).number("eager_s") == 0.5
