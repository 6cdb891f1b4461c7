"""What a drill is asked to do, and the timing settings it does it with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from drillbook.errors import UsageError


@dataclass(frozen=True)
class DrillSettings:
    """Sandbox timing. Every drill runs on one stopwatch; these bound each wait so a game day stays short."""

    baseline_s: float = 4.0
    """Traffic must meet the SLOs for this long before the fault: long enough for one full monitor window."""
    baseline_settle_s: float = 20.0
    """A window that breached early in the baseline (a cold connection pool, a JIT warming up) may still settle:
    the baseline then goes on, up to this many seconds more, until the monitor has seen every check hold again for
    its hold time. Only a system that does not settle is invalid; the journal says how long settling took."""
    traffic_within_s: float = 30.0
    """How long traffic may take to reach the app before the baseline starts: the load generator's first requests
    can arrive seconds after it starts on a busy machine. Traffic that never flows is drillbook's failure (error),
    never the scenario's (invalid)."""
    breach_within_s: float = 30.0
    """How long the fault gets to breach the SLOs before the drill is called vacuous."""
    restore_within_s: float = 45.0
    """Sandbox seconds allowed from the end of the runbook's steps to restored SLOs (the sandbox is
    time-compressed: the runbook's own target is judged by the projected MTTR, not by this). Recovery is
    always watched this long unless the SLOs are restored and held first, whatever any step did."""
    hold_s: float = 5.0
    """Restored means every breached check held for at least this long (see ``relapse_hold_factor``)."""
    relapse_hold_factor: float = 2.0
    """A flapping signal must hold longer: the hold is at least this many times the longest quiet gap seen
    between two failing windows since the fault, so a lull between crashes is not taken for recovery."""
    breach_margin: float = 2.0
    """A breach has margin when its worst window is this many thresholds past good (2.0: an error rate of 2 %
    against ``< 1 %``), or when the SLO failed in most windows (``steady_share``). Less is a weak breach, and
    the drill is vacuous. 0 turns the check off."""
    steady_share: float = 0.5
    """The share of windows from the breach to the response that must fail for a breach to count as steady."""
    window_s: float = 3.0
    """Sliding window of the SLO monitor."""
    tick_s: float = 0.5
    """Resolution of breach and restore times."""
    min_requests: int = 5
    """A window with fewer requests is no data, not a pass."""
    poll_s: float = 0.25
    """How often waits look at the monitor."""
    settle_probe_s: float = 1.0
    """How often the recovery watch asks the sandbox whether anything it deployed is still changing (a few list
    calls on the cluster's API each time); see :mod:`drillbook.drill.settle`."""


INI_SETTINGS: dict[str, tuple[str, str]] = {
    "drillbook_baseline": ("baseline_s", "seconds the SLOs must hold before the fault (default 4)"),
    "drillbook_breach_within": ("breach_within_s", "seconds the fault gets to breach the SLOs (default 30)"),
    "drillbook_recovery_watch": (
        "restore_within_s",
        "sandbox seconds the recovery is watched after the steps, unless restored and held first (default 45)",
    ),
    "drillbook_hold": ("hold_s", "seconds every breached SLO must hold to count as restored (default 5)"),
    "drillbook_breach_margin": (
        "breach_margin",
        "how many thresholds past good a breach's worst window must be to count as firm; 0 turns it off (default 2)",
    ),
}
"""Ini keys → the :class:`DrillSettings` field they set, and their help text."""


def settings_from_ini(getini: Callable[[str], object]) -> DrillSettings:
    """:class:`DrillSettings` with what the ini file sets (``getini(key)`` is empty when it sets nothing).

    Raises:
        UsageError: a value that is not a non-negative number, naming the key and what it takes.
    """
    changes: dict[str, Any] = {}
    known = {f.name for f in fields(DrillSettings)}
    for key, (name, help_text) in INI_SETTINGS.items():
        assert name in known
        text = str(getini(key) or "").strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if value < 0:
            raise UsageError(f"ini option {key} = {text!r}: expected a number of {help_text.split(' (')[0]}")
        changes[name] = value
    return replace(DrillSettings(), **changes)


@dataclass
class DrillSpec:
    """A drill as its Gherkin scenario states it; filled in step by step."""

    system: str
    incident_id: str = ""
    fault: str = ""
    fault_params: dict[str, str] = field(default_factory=dict)
    users: int = 10
    branches: dict[int, str] = field(default_factory=dict)
    """Step number → branch label to follow ("Option 2"); default: the first branch."""
    supplied: dict[int, str] = field(default_factory=dict)
    """Step number → command the drill supplies for a prose-only step (marked as supplied in the report)."""
    optional_steps: set[int] = field(default_factory=set)
    """Steps whose failure does not fail the drill (still shown in the report)."""
    slo_texts: list[str] = field(default_factory=list)
    """SLOs the drill states itself, in addition to or instead of the runbook's."""
    follow_up_steps: frozenset[int] = frozenset()
    """Steps that are follow-up work (Prevention, Post-Incident, ``drills.yaml``): never counted toward MTTR."""
    overrides: tuple[str, ...] = ()
    """What ``drills.yaml`` decided for this drill, one sentence each with its line (shown as the drill's)."""
