"""Traffic profiles: which endpoints the load generator calls, how often, and how hard.

A profile is JSON so the locust subprocess can read it without importing drillbook::

    {"per_user_rps": 5, "timeout_s": 5, "requests_per_connection": 10,
     "endpoints": [{"name": "health", "method": "GET", "path": "/api/health", "weight": 1},
                   {"name": "create poll", "method": "POST", "path": "/api/polls", "weight": 1,
                    "json": {"question": "?"}}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillbook.errors import UsageError

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Endpoint:
    """One request the simulated users make; ``weight`` is its relative share of requests."""

    name: str
    method: str
    path: str
    weight: int = 1
    json_body: Any = None


@dataclass(frozen=True)
class TrafficProfile:
    """What each simulated user does."""

    endpoints: tuple[Endpoint, ...]
    per_user_rps: float = 5.0
    """Requests per second each user makes at most, so the total rate scales with the user count."""
    timeout_s: float = 5.0
    """A request unanswered after this long is an error: a hung service must show up as failures, not silence."""
    requests_per_connection: int = 10
    """Requests a user sends over one keep-alive connection before it opens a new one (about 2 s at 5 rps).

    A Service balances connections, not requests. A real service's many clients come and go, so new connections
    keep arriving and reach the replicas a scale-out adds. A few simulated users holding their first connection
    forever would stay pinned to the replicas that existed when they connected, so scaling out could never help
    them: a runbook's scale-out would fail on drillbook's traffic model."""

    def to_json(self) -> dict[str, Any]:
        """The JSON form the locustfile reads."""
        return {
            "per_user_rps": self.per_user_rps,
            "timeout_s": self.timeout_s,
            "requests_per_connection": self.requests_per_connection,
            "endpoints": [
                {"name": e.name, "method": e.method, "path": e.path, "weight": e.weight}
                | ({"json": e.json_body} if e.json_body is not None else {})
                for e in self.endpoints
            ],
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "traffic profile") -> TrafficProfile:
        """Read and validate a profile; every problem is reported at once.

        Raises:
            UsageError: the profile is malformed (the message lists each problem).
        """
        problems: list[str] = []
        if not isinstance(data, dict):
            raise UsageError(f"{source}: expected a JSON object with 'endpoints', got {type(data).__name__}")
        allowed = ("endpoints", "per_user_rps", "timeout_s", "requests_per_connection")
        unknown = set(data) - set(allowed)
        if unknown:
            problems.append(f"unknown keys {sorted(unknown)} (allowed: {', '.join(allowed)})")
        raw = data.get("endpoints")
        endpoints: list[Endpoint] = []
        if not isinstance(raw, list) or not raw:
            problems.append("'endpoints' must be a non-empty list")
            raw = []
        for index, item in enumerate(raw):
            endpoint = _endpoint(item, index, problems)
            if endpoint is not None:
                endpoints.append(endpoint)
        per_user_rps = _positive(data.get("per_user_rps", 5.0), "per_user_rps", problems)
        timeout_s = _positive(data.get("timeout_s", 5.0), "timeout_s", problems)
        per_connection = data.get("requests_per_connection", 10)
        if not isinstance(per_connection, int) or isinstance(per_connection, bool) or per_connection < 1:
            problems.append(f"requests_per_connection must be a whole number >= 1, got {per_connection!r}")
            per_connection = 10
        if problems:
            raise UsageError(f"{source} is invalid: " + "; ".join(problems) + "; fix the profile and retry")
        return cls(tuple(endpoints), per_user_rps, timeout_s, per_connection)

    @classmethod
    def load(cls, path: Path) -> TrafficProfile:
        """Read a profile from a JSON file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"expected a readable JSON traffic profile at {path}, got: {exc}") from exc
        return cls.from_json(data, source=str(path))


def _endpoint(item: Any, index: int, problems: list[str]) -> Endpoint | None:
    where = f"endpoints[{index}]"
    if not isinstance(item, dict):
        problems.append(f"{where} must be an object, got {type(item).__name__}")
        return None
    unknown = set(item) - {"name", "method", "path", "weight", "json"}
    if unknown:
        problems.append(f"{where} has unknown keys {sorted(unknown)}")
    method = str(item.get("method", "GET")).upper()
    path = item.get("path")
    weight = item.get("weight", 1)
    if method not in _METHODS:
        problems.append(f"{where}.method {method!r} is not one of {sorted(_METHODS)}")
    if not isinstance(path, str) or not path.startswith("/"):
        problems.append(f"{where}.path must be a path starting with '/', got {path!r}")
        return None
    if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
        problems.append(f"{where}.weight must be a whole number >= 1, got {weight!r}")
        return None
    name = str(item.get("name") or f"{method} {path}")
    return Endpoint(name=name, method=method, path=path, weight=weight, json_body=item.get("json"))


def _positive(value: Any, key: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        problems.append(f"{key} must be a positive number, got {value!r}")
        return 1.0
    return float(value)


DEFAULT_PROFILE = TrafficProfile(
    endpoints=(
        Endpoint(name="health", method="GET", path="/api/health", weight=1),
        Endpoint(name="list polls", method="GET", path="/api/polls", weight=3),
        Endpoint(
            name="create poll",
            method="POST",
            path="/api/polls",
            weight=1,
            json_body={"question": "Which drill next?", "options": ["failover", "rollback"]},
        ),
    ),
)
"""The stand-in service's health and business endpoints: mostly reads, some writes."""
