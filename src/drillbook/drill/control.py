"""The do-nothing control run: does the system restore itself when nobody follows the runbook?

For each (system, fault, parameters, users) the drill watches the breached system for a bounded window with
no response at all, inside the drill's own sandbox, right after the breach and before the runbook's first
step. If the SLOs come back and hold within that window, the system heals by itself and the runbook cannot be
credited with the restore: the drill is *vacuous (self-healing)*. Otherwise the response starts, on a fault
that has simply aged by the window, as a real on-call's response would start late.

Cost and caching. The window ends as soon as its outcome is decided: when the system has self-healed and held,
or when a self-heal could no longer hold for the required hold before the window ends (the breach still on with
less than the hold left), which is the same outcome as waiting the window out. A fault that does not heal so
costs the window less the hold: about 7 s with the defaults. With ``once`` (the default) the outcome is cached per
key in a run-scoped file (``<run dir>/control-cache.json``), so a game day pays one window per distinct (system,
fault, parameters), and repeated drills of the same fault add nothing. ``always`` runs the window in every
drill; ``off`` runs none (and says so in the journal and the report).

Bound. The control sees only ``window_s`` seconds: self-healing slower than that is not caught by it. The
window must outlast the hold (a restore has to hold to count), so it is at least twice the hold by default;
attribution still refuses to credit an action for a restore that turned before any action ran.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from drillbook.errors import UsageError


class ControlMode(StrEnum):
    """When drills run the do-nothing control."""

    OFF = "off"
    ONCE = "once"
    """Once per (system, fault, parameters, users) in a run; later drills reuse the cached outcome."""
    ALWAYS = "always"


@dataclass(frozen=True)
class ControlSettings:
    """The control run's switch and window."""

    mode: ControlMode = ControlMode.ONCE
    window_s: float = 12.0
    """Seconds watched with no response (ends early when the system heals and holds)."""

    @classmethod
    def parse(cls, mode: str, window_s: str | float | None = None) -> ControlSettings:
        """From an ini option or command-line value; a bad value is a usage error naming the allowed ones."""
        try:
            parsed = ControlMode(mode.strip().lower())
        except ValueError as exc:
            allowed = ", ".join(m.value for m in ControlMode)
            raise UsageError(f"drillbook_control must be one of {allowed}, got {mode!r}") from exc
        if window_s in (None, ""):
            return cls(parsed)
        try:
            window = float(window_s)
        except ValueError as exc:
            raise UsageError(f"drillbook_control_window must be seconds, got {window_s!r}") from exc
        if window <= 0:
            raise UsageError(f"drillbook_control_window must be positive, got {window_s!r}")
        return cls(parsed, window)


@dataclass(frozen=True)
class ControlResult:
    """What one control window showed."""

    self_healed: bool
    window_s: float
    restored_after_s: float | None = None
    source: str = ""
    """The drill that ran it."""
    detail: str = ""


def control_key(system: str, fault: str, params: Mapping[str, str], users: int) -> str:
    """``azora|bad-release|tag=1.5.2|users=10``: what makes two control runs the same."""
    parts = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
    return f"{system}|{fault}|{parts}|users={users}"


class ControlCache(Protocol):
    """Control outcomes of this run, by key."""

    def get(self, key: str) -> ControlResult | None: ...
    def put(self, key: str, result: ControlResult) -> None: ...


class MemoryControlCache:
    """A cache that lives as long as the object (tests, one-off drills)."""

    def __init__(self) -> None:
        self._results: dict[str, ControlResult] = {}

    def get(self, key: str) -> ControlResult | None:
        """The cached outcome, if any."""
        return self._results.get(key)

    def put(self, key: str, result: ControlResult) -> None:
        """Remember an outcome."""
        self._results[key] = result


class FileControlCache:
    """A run-scoped cache file (``<run dir>/control-cache.json``), written atomically after each put."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, ControlResult]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        results: dict[str, ControlResult] = {}
        if isinstance(raw, dict):
            for key, value in raw.items():
                try:
                    results[str(key)] = ControlResult(**value)
                except TypeError:
                    continue  # a newer or damaged entry: run the control again
        return results

    def get(self, key: str) -> ControlResult | None:
        """The cached outcome, if any."""
        return self._load().get(key)

    def put(self, key: str, result: ControlResult) -> None:
        """Remember an outcome for the rest of the run."""
        results = self._load()
        results[key] = result
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({k: asdict(v) for k, v in results.items()}, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
