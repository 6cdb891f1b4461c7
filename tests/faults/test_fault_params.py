"""Every fault declares its parameters; a drill giving an unknown one or a bad value is refused with what it takes."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from drillbook.faults.base import Fault, JsonValue, RevertRecord, available_faults, fault_class
from drillbook.faults.params import FaultParameterError, Param, check_params

FAULTS = sorted(name for name, cls in available_faults().items() if cls.__module__.startswith("drillbook.faults."))
"""The built-in faults (tests elsewhere register fakes of their own)."""

REQUIRED = {"bad-release": {"tag": "1.5.2"}}
"""What a fault cannot be built without."""


def _bad_values(param: Param) -> list[str]:
    """Values the schema must refuse for ``param``."""
    if param.choices:
        return ["no-such-mode", ""]
    if param.type == "str":
        return [""]
    bad = ["three", "nan", "inf"]
    if param.type == "int":
        bad.append("1.5")
    if param.min is not None:
        bad.append(str(param.min) if param.min_exclusive else str(param.min - 1))
    if param.max is not None:
        bad.append(str(param.max + 1))
    return bad


@pytest.mark.parametrize("name", FAULTS)
def test_every_built_in_fault_declares_its_parameters_with_help(name: str) -> None:
    cls = fault_class(name)
    assert cls.parameters is not None, f"{name} declares no parameter schema"
    for param in cls.parameters:
        assert param.help, f"{name}.{param.name} has no help"
        assert not (param.required and param.default is not None), f"{name}.{param.name}: required with a default"


@pytest.mark.parametrize("name", FAULTS)
def test_a_fault_built_with_no_parameters_gets_every_default(name: str) -> None:
    cls = fault_class(name)
    assert cls.parameters is not None
    fault = cls(None, REQUIRED.get(name, {}))
    for param in cls.parameters:
        if param.default is not None and param.name not in REQUIRED.get(name, {}):
            assert fault.options[param.name] == param.default


@pytest.mark.parametrize("name", FAULTS)
def test_every_default_reads_back_as_itself(name: str) -> None:
    cls = fault_class(name)
    assert cls.parameters is not None
    for param in cls.parameters:
        if param.default is not None:
            assert param.parse(str(param.default)) == param.default, param.describe()


@pytest.mark.parametrize(
    ("name", "param"),
    [(name, p) for name in FAULTS for p in fault_class(name).parameters or ()],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_a_bad_value_is_refused_naming_the_fault_the_parameter_and_the_rule(name: str, param: Param) -> None:
    for bad in _bad_values(param):
        with pytest.raises(FaultParameterError) as refused:
            fault_class(name)(None, {**REQUIRED.get(name, {}), param.name: bad})
        message = str(refused.value)
        assert message.startswith(f'fault "{name}": parameter "{param.name}" must be'), message
        assert f'got "{bad}"' in message
        assert param.describe() in message


@pytest.mark.parametrize("name", FAULTS)
def test_an_unknown_parameter_is_refused_with_what_the_fault_takes(name: str) -> None:
    cls = fault_class(name)
    with pytest.raises(FaultParameterError) as refused:
        cls(None, {**REQUIRED.get(name, {}), "delay_sec": "3"})
    takes = ", ".join(p.describe() for p in cls.parameters or ()) or "none"
    assert str(refused.value) == f'fault "{name}" has no parameter "delay_sec"; it takes: {takes}'


def test_the_latency_fault_lists_its_parameters_with_type_unit_range_and_default() -> None:
    with pytest.raises(FaultParameterError, match=r"it takes: latency_ms \(int, ms, >= 1, default 1000\), jitter_ms"):
        fault_class("latency").check_params({"delay_ms": "300"})


def test_a_near_miss_names_the_parameter_meant() -> None:
    with pytest.raises(FaultParameterError, match=r'no parameter "latency" \(did you mean "latency_ms"\?\)'):
        fault_class("latency").check_params({"latency": "300"})


def test_parameters_are_typed_and_given_ones_win_over_defaults() -> None:
    options = fault_class("pool-exhaustion").check_params({"mode": "active", "eager_s": "0", "hold_s": "60"})
    assert options == {
        "mode": "active",
        "role": "app",
        "hold_s": 60,
        "eager_s": 0.0,
        "refill_per_s": 1,
        "kick": "yes",
    }


def test_a_required_parameter_says_how_to_give_it() -> None:
    with pytest.raises(FaultParameterError, match=r'fault "bad-release" needs the parameter "tag" .*with tag "…"'):
        fault_class("bad-release").check_params({})


def test_the_crashloop_release_mode_needs_a_tag_and_the_others_do_not() -> None:
    with pytest.raises(FaultParameterError, match=r'mode "release" needs the parameter "tag"'):
        fault_class("crashloop").check_params({"mode": "release"})
    assert fault_class("crashloop").check_params({"mode": "bad-image"})["mode"] == "bad-image"


def test_the_bad_release_fault_is_always_a_release() -> None:
    with pytest.raises(FaultParameterError, match=r'"mode" must be one of release, got "bad-image"'):
        fault_class("bad-release")(None, {"tag": "1.0", "mode": "bad-image"})
    assert fault_class("bad-release")(None, {"tag": "1.0"}).options == {"tag": "1.0", "mode": "release"}


def test_an_exclusive_minimum_refuses_the_bound_itself() -> None:
    share = Param("share", "float", "a share", 0.1, min=0, min_exclusive=True, max=1)
    assert share.parse("1") == 1.0
    with pytest.raises(ValueError, match="must be > 0 and <= 1"):
        share.parse("0")


def test_a_fault_with_no_schema_takes_its_parameters_unchecked() -> None:
    class Legacy(Fault):
        name = "legacy"
        symptoms = ("error_rate",)
        summary = "written before schemas"

        def revert_record(self) -> RevertRecord:
            raise NotImplementedError

        def apply(self) -> None:
            raise NotImplementedError

        @classmethod
        def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
            raise NotImplementedError

    assert Legacy(None, {"anything": "goes"}).options == {"anything": "goes"}
    assert check_params("x", (), {}) == {}
