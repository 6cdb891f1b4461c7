"""Reports rendered from a run's journal alone: HTML with SVG timelines, JSON, Markdown, JUnit properties.

Pure: this package reads journal events and writes files; it never talks to a cluster or a datastore.
"""

from __future__ import annotations

from drillbook.report.junit import junit_properties
from drillbook.report.model import DrillSummary, Outcome, RunSummary, StepRow, summarize
from drillbook.report.render import ReportPaths, load_run, render_reports, update_latest

__all__ = [
    "DrillSummary",
    "Outcome",
    "ReportPaths",
    "RunSummary",
    "StepRow",
    "junit_properties",
    "load_run",
    "render_reports",
    "summarize",
    "update_latest",
]
