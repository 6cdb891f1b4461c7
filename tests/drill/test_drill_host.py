"""The machine's CPU on a drill's stopwatch: readings, busy shares and when it counts as saturated."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.drill.host import SATURATED_AT, HostLoad, ProcStatCpu, Saturation


class _Readings:
    """A made-up ``/proc/stat``: each read returns the next ``(busy, total)``, or ``None`` for an unreadable one."""

    def __init__(self, *readings: tuple[int, int] | None) -> None:
        self.readings = list(readings)

    def read(self) -> tuple[int, int] | None:
        return self.readings.pop(0)


def _load(*readings: tuple[int, int] | None) -> HostLoad:
    load = HostLoad(_Readings(*readings))
    for t in range(len(readings)):
        load.observe(float(t))
    return load


def test_busy_share_is_the_busy_part_of_the_cpu_time_between_the_readings() -> None:
    load = _load((0, 0), (50, 200), (230, 400), (430, 600))
    assert load.busy_between(0, 1) == pytest.approx(0.25)
    assert load.busy_between(1, 3) == pytest.approx(0.95)
    assert load.busy_between(0.5, 3) == pytest.approx(0.95)  # from the first reading at or after the start


@pytest.mark.parametrize(("start", "end"), [(2.5, 3.0), (5.0, 9.0)], ids=["one reading", "none"])
def test_too_few_readings_give_no_share(start: float, end: float) -> None:
    assert _load((0, 0), (50, 200), (230, 400), (430, 600)).busy_between(start, end) is None


def test_unreadable_and_out_of_order_readings_are_skipped() -> None:
    load = HostLoad(_Readings((0, 0), None, (180, 200), (999, 999)))
    for t in (0.0, 1.0, 2.0, 1.5):  # the last goes back in time: ignored
        load.observe(t)
    assert load.busy_between(0, 9) == pytest.approx(0.9)


def test_no_cpu_means_no_readings_and_never_saturated() -> None:
    load = HostLoad(None)
    load.observe(0.0)
    load.observe(5.0)
    assert load.saturation(0, 5, None) is None


def test_saturation_over_the_end_of_the_watch_against_the_baseline() -> None:
    load = _load((0, 0), (60, 200), (120, 400), (310, 600), (500, 800))
    seen = load.saturation(2, 4, baseline=(0, 2))
    assert seen == Saturation(pytest.approx(0.95), 2, 4, pytest.approx(0.3))  # type: ignore[arg-type]
    assert seen is not None
    assert seen.saturated
    assert seen.describe(2) == (
        "the machine's 2 cores were 95% busy from t=2.0 s to the end of the watch at t=4.0 s (30% in the baseline)"
    )
    assert Saturation(0.9, 1, 2, None).describe(None) == (
        "the machine's CPU was 90% busy from t=1.0 s to the end of the watch at t=2.0 s"
    )


@pytest.mark.parametrize(("busy", "saturated"), [(SATURATED_AT, True), (SATURATED_AT - 0.01, False)])
def test_saturated_from_the_threshold(busy: float, saturated: bool) -> None:
    assert Saturation(busy, 0, 1, None).saturated is saturated


def test_proc_stat_reads_busy_and_total_jiffies_of_all_cores(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal (guest columns are already in user and nice)
    stat.write_text("cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 3 0\n", encoding="ascii")
    assert ProcStatCpu(stat).read() == (160, 1000)


@pytest.mark.parametrize("text", ["", "intr 1 2 3\n", "cpu  a b c d e\n", "cpu 1 2\n"])
def test_an_unreadable_proc_stat_is_no_reading(tmp_path: Path, text: str) -> None:
    stat = tmp_path / "stat"
    stat.write_text(text, encoding="ascii")
    assert ProcStatCpu(stat).read() is None
    assert ProcStatCpu(tmp_path / "missing").read() is None
