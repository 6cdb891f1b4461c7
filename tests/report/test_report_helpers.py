"""The small helpers: ``latest`` pointer, JUnit properties, downsampling, formatting."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.errors import ReportError
from drillbook.journal import MttrProjection, SloCheck, SloWindow, Verdict, VerdictReached
from drillbook.report import junit_properties, update_latest
from drillbook.report.formatting import duration
from drillbook.report.svg import downsample, error_threshold, nice_ticks, p95_threshold


def test_latest_is_a_relative_symlink_to_the_run(tmp_path: Path) -> None:
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-2").mkdir()
    update_latest(tmp_path, tmp_path / "run-1")
    latest = update_latest(tmp_path, tmp_path / "run-2")
    assert latest.is_symlink()
    assert str(latest.readlink()) == "run-2"
    assert latest.resolve() == (tmp_path / "run-2").resolve()


def test_latest_replaces_an_old_text_file_fallback(tmp_path: Path) -> None:
    (tmp_path / "latest").write_text("run-0\n")
    (tmp_path / "run-1").mkdir()
    assert update_latest(tmp_path, tmp_path / "run-1").resolve() == (tmp_path / "run-1").resolve()


def test_latest_refuses_to_replace_a_real_directory(tmp_path: Path) -> None:
    (tmp_path / "latest").mkdir()
    with pytest.raises(ReportError, match="found a directory"):
        update_latest(tmp_path, tmp_path / "run-1")


def test_junit_properties_carry_verdict_times_and_reason() -> None:
    event = VerdictReached(
        drill="d",
        verdict=Verdict.FAILED,
        reason="projected MTTR 7 min exceeds 5 min",
        time_to_restore_s=12.25,
        projected_mttr_s=420.0,
        projection=MttrProjection(),
        target_s=None,
    )
    assert junit_properties(event) == [
        ("verdict", "failed"),
        ("time_to_restore_s", "12.250"),
        ("projected_mttr_s", "420.000"),
        ("target_s", ""),
        ("reason", "projected MTTR 7 min exceeds 5 min"),
    ]


def _window(t: float, error_rate: float, p95: float | None) -> SloWindow:
    return SloWindow(drill="d", t=t, window_s=1, requests=10, errors=0, error_rate=error_rate, p95_ms=p95)


def test_downsampling_keeps_a_one_second_spike() -> None:
    windows = [_window(float(t), 0.0, 10.0) for t in range(600)]
    windows[301] = _window(301.0, 0.5, 2000.0)
    points = downsample(windows, 100)
    assert len(points) == 100
    assert max(p.error_pct for p in points) == 50.0
    assert max(p.p95_ms or 0 for p in points) == 2000.0


def test_downsampling_keeps_gaps_where_no_request_completed() -> None:
    points = downsample([_window(1.0, 0.0, None), _window(2.0, 0.0, 5.0)], 10)
    assert [p.p95_ms for p in points] == [None, 5.0]


def test_thresholds_are_converted_to_the_chart_units() -> None:
    as_fraction = error_threshold(SloCheck(metric="error_rate", op="<", threshold=0.01))
    as_percent = error_threshold(SloCheck(metric="error_rate", op="<", threshold=1, unit="%"))
    availability = error_threshold(SloCheck(metric="availability", op=">=", threshold=99.9, unit="%"))
    seconds = p95_threshold(SloCheck(metric="latency", op="<", threshold=0.5, unit="s"))
    assert as_fraction is not None
    assert as_fraction.value == pytest.approx(1.0)
    assert as_percent is not None
    assert as_percent.value == pytest.approx(1.0)
    assert availability is not None
    assert availability.value == pytest.approx(0.1)
    assert seconds is not None
    assert seconds.value == pytest.approx(500.0)
    assert p95_threshold(SloCheck(metric="latency_p99", op="<", threshold=1)) is None


def test_ticks_are_round_and_cover_the_top() -> None:
    assert nice_ticks(37.0) == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert nice_ticks(0.0) == [0.0, 1.0]


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "—"), (4.25, "4.2 s"), (250.0, "4 min 10 s"), (7300.0, "2 h 01 min")]
)
def test_durations_read_like_a_person_would_say_them(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text
