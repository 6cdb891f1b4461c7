"""The settle rule, as a table on a fake stopwatch: a recovery watch ends early only when the sandbox has been at
rest, and the SLOs breached, for a whole settle window after the last action; any missing evidence keeps it going."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drillbook.drill.settle import (
    SandboxSnapshot,
    SettleEvidence,
    SettleTracker,
    settle_window_s,
    settled_and_breached,
)

AT_REST = SandboxSnapshot("fp-1")


def _windows(start: float, end: float, *, passing: tuple[float, float] | None = None) -> list[tuple[float, bool]]:
    """A monitor window every 0.5 s from ``start`` to ``end``, failing except in ``passing`` (from, to)."""
    samples = []
    t = start
    while t <= end + 1e-9:
        ok = passing is not None and passing[0] <= t <= passing[1]
        samples.append((round(t, 3), not ok))
        t += 0.5
    return samples


# The steps ended at t=10 (the last action then), the sandbox was at rest from t=14, and it is now t=30: a settle
# window of max(12 s control, 2 x 5 s hold) = 12 s has passed since t=14 with every window failing.
DECIDED = SettleEvidence(
    now=30.0,
    fault_lasts=True,
    control_window_s=12.0,
    commands_running=False,
    last_action_ended=10.0,
    settled_since=14.0,
    samples=_windows(5.0, 30.0),
    restores=(),
    breached_now=True,
    required_hold_s=5.0,
    max_sample_gap_s=3.0,
)


def test_a_sandbox_settled_and_breached_for_the_whole_window_decides_the_watch() -> None:
    settled = settled_and_breached(DECIDED)
    assert settled is not None
    assert (settled.since, settled.window_s, settled.last_action_ended) == (14.0, 12.0, 10.0)
    text = settled.describe("latency")
    assert "nothing the scenario deployed has changed since t=14.0 s" in text
    assert "the last action ended at t=10.0 s" in text
    assert "stayed breached throughout the 12.0 s settle window" in text
    assert "the control run saw no self-healing in 12 s" in text


@pytest.mark.parametrize(
    ("why", "change"),
    [
        ("the window has not yet passed since the sandbox came to rest", {"now": 25.9}),
        ("an action ended after the sandbox came to rest: the window starts again there", {"last_action_ended": 20.0}),
        ("a rollout still progressing (or a crashloop): the sandbox is not at rest", {"settled_since": None}),
        ("a restore inside the window", {"restores": (20.0,)}),
        ("a window that passed inside the settle window", {"samples": _windows(5.0, 30.0, passing=(21.0, 21.5))}),
        ("the SLOs are not breached right now", {"breached_now": False}),
        ("a step or a background command may still be running", {"commands_running": True}),
        ("no control run, or one that healed: nothing known about self-healing", {"control_window_s": None}),
        ("a fault that may lift by itself, or was reverted", {"fault_lasts": False}),
        ("a gap in the monitor's windows: nothing seen", {"samples": _windows(5.0, 19.0) + _windows(23.0, 30.0)}),
        ("no windows at all since the sandbox came to rest", {"samples": _windows(5.0, 13.0)}),
        ("the windows stop before now", {"samples": _windows(5.0, 25.0)}),
        ("a flapping signal's longer hold makes the window longer than the control's", {"required_hold_s": 9.0}),
    ],
)  # fmt: skip
def test_the_watch_goes_on_while_anything_could_still_restore_the_slos(why: str, change: dict[str, object]) -> None:
    assert settled_and_breached(replace(DECIDED, **change)) is None, why  # type: ignore[arg-type]


def test_a_restore_before_the_window_does_not_keep_the_watch_going() -> None:
    # The SLOs lifted once before the last action and relapsed: what counts is the window after it.
    seen = replace(DECIDED, restores=(8.0,), samples=_windows(5.0, 30.0, passing=(6.0, 8.0)))
    assert settled_and_breached(seen) is not None


def test_with_no_action_the_window_starts_when_the_sandbox_came_to_rest() -> None:
    settled = settled_and_breached(replace(DECIDED, last_action_ended=None))
    assert settled is not None
    assert settled.since == 14.0
    assert "no action ran" in settled.describe("partition")


@pytest.mark.parametrize(("control", "hold", "window"), [(12.0, 5.0, 12.0), (12.0, 8.0, 16.0), (2.0, 0.6, 2.0)])
def test_the_settle_window_is_the_control_window_or_twice_the_hold(control: float, hold: float, window: float) -> None:
    assert settle_window_s(control, hold) == window


# -- the tracker: since when the sandbox has been at rest, unchanged --------------------------------------------------


def _track(*observed: tuple[float, SandboxSnapshot | None]) -> SettleTracker:
    tracker = SettleTracker()
    for t, snapshot in observed:
        tracker.observe(t, snapshot, "" if snapshot is not None else "ApiException: 503")
    return tracker


def test_a_sandbox_at_rest_is_dated_from_the_first_probe_that_saw_it() -> None:
    assert _track((11.0, AT_REST), (12.0, AT_REST), (13.0, AT_REST)).settled_since == 11.0


def test_a_rollout_still_progressing_is_not_at_rest_and_says_why() -> None:
    rolling = SandboxSnapshot("fp-2", ("deployment shop/api: 1 updated, 2 ready, 2 available, 3 total of 2 replicas",))
    tracker = _track((11.0, AT_REST), (12.0, rolling))
    assert tracker.settled_since is None
    assert tracker.why_not.startswith("deployment shop/api: 1 updated")
    assert _track((11.0, rolling), (12.0, SandboxSnapshot("fp-3"))).settled_since == 12.0


def test_a_crashloop_keeps_changing_so_the_sandbox_never_comes_to_rest_for_long() -> None:
    # Each restart bumps a restart count and a resourceVersion: a new fingerprint every few seconds.
    tracker = SettleTracker()
    for second in range(11, 41):
        tracker.observe(float(second), SandboxSnapshot(f"restarts-{second // 3}"))
    assert tracker.settled_since == 39.0
    seen = replace(DECIDED, now=40.0, settled_since=tracker.settled_since, samples=_windows(5.0, 40.0))
    assert settled_and_breached(seen) is None


def test_a_probe_error_is_no_evidence_and_starts_the_rest_over() -> None:
    tracker = _track((11.0, AT_REST), (12.0, None))
    assert tracker.settled_since is None
    assert "ApiException" in tracker.why_not
    assert settled_and_breached(replace(DECIDED, settled_since=tracker.settled_since)) is None
    tracker.observe(13.0, AT_REST)
    assert tracker.settled_since == 13.0  # what happened while the API was unreadable is unknown


def test_a_sandbox_never_probed_is_never_at_rest() -> None:
    tracker = SettleTracker()
    assert tracker.settled_since is None
    assert tracker.why_not == "the sandbox was not probed"
