"""Traffic profiles: the JSON the locustfile reads, validated with every problem named at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drillbook.errors import UsageError
from drillbook.traffic import DEFAULT_PROFILE, TrafficProfile


def test_default_profile_exercises_health_and_business_endpoints() -> None:
    routes = {(e.method, e.path, e.weight) for e in DEFAULT_PROFILE.endpoints}
    assert routes == {("GET", "/api/health", 1), ("GET", "/api/polls", 3), ("POST", "/api/polls", 1)}


def test_profile_survives_a_round_trip_through_json() -> None:
    assert TrafficProfile.from_json(json.loads(json.dumps(DEFAULT_PROFILE.to_json()))) == DEFAULT_PROFILE


def test_profile_loads_from_a_file_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text('{"endpoints": [{"path": "/ready"}]}', encoding="utf-8")
    profile = TrafficProfile.load(path)
    (endpoint,) = profile.endpoints
    assert (endpoint.name, endpoint.method, endpoint.weight) == ("GET /ready", "GET", 1)
    assert (profile.per_user_rps, profile.timeout_s) == (5.0, 5.0)


def test_every_problem_in_a_profile_is_reported_together() -> None:
    bad = {
        "endpoints": [{"method": "FETCH", "path": "/x"}, {"path": "no-slash"}, {"path": "/y", "weight": 0}],
        "per_user_rps": -1,
        "colour": "red",
    }
    with pytest.raises(UsageError) as caught:
        TrafficProfile.from_json(bad, source="scenario traffic")
    message = str(caught.value)
    for expected in ("colour", "FETCH", "'no-slash'", "weight must be a whole number", "per_user_rps", "fix the"):
        assert expected in message


def test_an_empty_endpoint_list_is_refused() -> None:
    with pytest.raises(UsageError, match="non-empty list"):
        TrafficProfile.from_json({"endpoints": []})


def test_unreadable_profile_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match=r"broken\.json"):
        TrafficProfile.load(path)


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "10"])
def test_requests_per_connection_must_be_a_whole_number_of_at_least_one(value: object) -> None:
    with pytest.raises(UsageError, match="requests_per_connection must be a whole number >= 1"):
        TrafficProfile.from_json({"endpoints": [{"path": "/x"}], "requests_per_connection": value})


def test_requests_per_connection_defaults_to_ten_and_round_trips() -> None:
    assert TrafficProfile.from_json({"endpoints": [{"path": "/x"}]}).requests_per_connection == 10
    profile = TrafficProfile.from_json({"endpoints": [{"path": "/x"}], "requests_per_connection": 3})
    assert profile.to_json()["requests_per_connection"] == 3
