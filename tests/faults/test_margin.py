"""The breach margin: how far past the threshold a fault's worst window went, and whether it held steadily."""

from __future__ import annotations

import math

import pytest

from drillbook.faults.margin import factor_past, measure
from drillbook.slo.checks import check_from_text
from drillbook.slo.stats import WindowStats

ERRORS = check_from_text("error rate < 1%")


def _windows(error_rates: list[float], tick_s: float = 1.0) -> list[WindowStats]:
    return [
        WindowStats(
            t_end=100.0 + i * tick_s,
            window_s=2.0,
            requests=100,
            errors=round(rate * 100),
            error_rate=rate,
            p50_ms=10.0,
            p95_ms=20.0,
            p99_ms=30.0,
            rps=50.0,
        )
        for i, rate in enumerate(error_rates)
    ]


@pytest.mark.parametrize(
    ("text", "value", "factor"),
    [
        ("error rate < 1%", 0.5, 50.0),
        ("error rate < 1%", 0.013, 1.3),
        ("error rate < 1%", 0.005, 0.0),
        ("p95 latency < 500ms", 1500.0, 3.0),
        ("availability >= 99.9%", 0.99, 10.0),
        ("throughput > 100rps", 25.0, 4.0),
    ],
)
def test_the_factor_says_how_many_times_past_the_threshold_a_value_is(text: str, value: float, factor: float) -> None:
    assert factor_past(check_from_text(text), value) == pytest.approx(factor)


def test_a_zero_threshold_is_infinitely_past_by_any_failure() -> None:
    assert math.isinf(factor_past(check_from_text("error rate < 0%"), 0.01))


def test_a_steady_breach_far_past_the_threshold_is_firm() -> None:
    margin = measure(ERRORS, _windows([0.0, 0.0, 0.3, 0.5, 0.4, 0.5, 0.5]), hold_s=3.0)
    assert margin.factor == pytest.approx(50.0)
    assert (margin.failing_windows, margin.windows) == (5, 5)
    assert margin.steady
    assert not margin.weak


def test_a_marginal_breach_is_weak() -> None:
    margin = measure(ERRORS, _windows([0.013, 0.012, 0.013, 0.014]), hold_s=3.0)
    assert margin.factor == pytest.approx(1.4)
    assert margin.weak
    assert "weak breach" in margin.describe()


def test_a_flapping_breach_with_gaps_as_long_as_the_hold_is_weak_however_deep() -> None:
    margin = measure(ERRORS, _windows([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]), hold_s=3.0)
    assert margin.factor == pytest.approx(100.0)
    assert margin.longest_ok_s == pytest.approx(3.0)
    assert not margin.steady
    assert margin.weak


def test_windows_without_enough_requests_are_neither_breach_nor_gap() -> None:
    windows = _windows([0.5, 0.5, 0.0, 0.5])
    windows[2] = WindowStats(windows[2].t_end, 2.0, 2, 0, 0.0, 1.0, 1.0, 1.0, 1.0)
    margin = measure(ERRORS, windows, hold_s=3.0)
    assert (margin.failing_windows, margin.windows, margin.longest_ok_s) == (3, 3, 0.0)


def test_a_fault_that_never_breaches_is_not_weak_but_not_breached() -> None:
    margin = measure(ERRORS, _windows([0.0, 0.002, 0.0]), hold_s=3.0)
    assert not margin.breached
    assert not margin.weak
    assert "never breached" in margin.describe()
