"""Attribution on recorded samples: which action turned the trend, which did nothing, how weak a breach was."""

from __future__ import annotations

from drillbook.drill.attribution import Action, Sample, attribute, breach_margin, longest_relapse_gap, turning_point


def _samples(values: list[float | None], *, start: float = 0.0, tick: float = 0.5) -> list[Sample]:
    return [Sample(start + i * tick, v, v is not None and v > 1.0) for i, v in enumerate(values)]


# A plateau at 3x the threshold, then a descent from t=5.0 into a restore at t=6.5.
PLATEAU = _samples([3.0] * 11 + [2.0, 1.2, 0.5, 0.5, 0.5, 0.5])


def test_the_turn_is_the_top_of_the_final_descent_not_the_start_of_the_plateau() -> None:
    assert turning_point(PLATEAU, restore_t=6.5) == 5.0


def test_the_restore_is_credited_to_the_last_action_before_the_turn() -> None:
    actions = [Action(2, "Scale", "kubectl scale", 1.0), Action(4, "Rollback", "kubectl rollout undo", 4.0)]
    result = attribute(PLATEAU, actions, 6.5, window_s=0.5, tick_s=0.5, watch_end_t=8.5)
    assert result.action is not None
    assert result.action.step == 4
    assert "turned at t=5.0 s, 1.0 s after it ended" in result.text
    assert [a.step for a in result.no_effect] == [2]  # the SLOs sat at 3x for 3 s after step 2


def test_an_action_after_the_turn_is_never_credited() -> None:
    actions = [Action(3, "Check", "kubectl scale", 6.0)]
    result = attribute(PLATEAU, actions, 6.5, window_s=0.5, tick_s=0.5, watch_end_t=8.5)
    assert result.action is None
    assert result.text.startswith("not attributable: the SLOs turned at t=5.0 s, before any action ended")


def test_actions_too_close_to_tell_apart_are_named() -> None:
    actions = [Action(4, "Rollback", "kubectl rollout undo", 3.6), Action(6, "Scale", "kubectl scale", 4.0)]
    result = attribute(PLATEAU, actions, 6.5, window_s=3.0, tick_s=0.5, watch_end_t=8.5)
    assert result.action is not None
    assert result.action.step == 6
    assert "step 4 (Rollback) ended less than one 3 s window before it" in result.text


def test_not_restored_has_no_credit_but_still_finds_actions_with_no_effect() -> None:
    flat = _samples([3.0] * 20)
    result = attribute(flat, [Action(2, "Fix", "x", 1.0)], None, window_s=0.5, tick_s=0.5, watch_end_t=10.0)
    assert result.action is None
    assert [a.step for a in result.no_effect] == [2]


def test_an_action_that_moved_the_slos_is_not_no_effect_even_without_a_restore() -> None:
    better = _samples([3.0, 3.0, 3.0, 2.0, 1.5, 1.5, 1.5, 1.5])
    result = attribute(better, [Action(2, "Fix", "x", 1.0)], None, window_s=0.5, tick_s=0.5, watch_end_t=4.0)
    assert result.no_effect == ()


def test_breach_margin_and_flapping_gaps() -> None:
    flapping = _samples([3.0, 3.0, 0.2, 0.2, 0.2, 3.0, 0.2, None, 0.2, 3.0])
    worst, share = breach_margin(flapping)
    assert worst == 3.0
    assert share == 4 / 9
    assert longest_relapse_gap(flapping) == 1.5  # t=1.0 .. 2.5; the gap broken by no data does not count whole


def test_the_onset_before_the_first_failing_window_is_not_a_relapse_gap() -> None:
    # Healthy for 4 s after the fault (a leak draining the pool), then failing, then back: no flapping at all.
    onset = _samples([0.2] * 8 + [3.0, 3.0, 3.0] + [0.2] * 6)
    assert longest_relapse_gap(onset) == 0.0
    # A real lull after the first failure still counts, however long the onset was.
    lull = _samples([0.2] * 8 + [3.0, 0.2, 0.2, 0.2, 3.0])
    assert longest_relapse_gap(lull) == 1.5  # t=4.5 .. 6.0
