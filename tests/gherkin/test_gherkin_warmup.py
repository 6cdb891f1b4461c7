"""The warm-up before steady traffic never fails a drill: an app that does not answer is the baseline's to judge."""

from __future__ import annotations

from drillbook.gherkin.warmup import warm_up


def test_a_scenario_with_no_read_endpoints_sends_nothing() -> None:
    assert warm_up("http://127.0.0.1:1", []) == 0


def test_an_app_that_refuses_every_request_is_not_the_warm_ups_failure() -> None:
    assert warm_up("http://127.0.0.1:1", ["/api/health"]) == 0  # port 1: refused at once
