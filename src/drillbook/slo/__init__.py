"""SLO checks and the windowed monitor: pure, no platform clients."""

from drillbook.slo.checks import (
    Check,
    CheckPlan,
    CheckStatus,
    Metric,
    NotMeasurable,
    Unmeasurable,
    check_from_text,
    checks_for_incident,
)
from drillbook.slo.monitor import Breach, CheckState, Monitor, MonitorEvent, MonitorSettings, Restore
from drillbook.slo.stats import RequestRecord, WindowStats, percentile

__all__ = [
    "Breach",
    "Check",
    "CheckPlan",
    "CheckState",
    "CheckStatus",
    "Metric",
    "Monitor",
    "MonitorEvent",
    "MonitorSettings",
    "NotMeasurable",
    "RequestRecord",
    "Restore",
    "Unmeasurable",
    "WindowStats",
    "check_from_text",
    "checks_for_incident",
    "percentile",
]
