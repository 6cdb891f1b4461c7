"""Fixtures for runbook tests: the five seed runbooks, parsed once per session."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from drillbook.runbook import Runbook, parse_runbook

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SEEDS = ("azora", "zephyr-voting", "architect-api", "phase5-todo", "chat-rooms")


@cache
def _parsed(name: str) -> Runbook:
    return parse_runbook(SCENARIOS / name / "runbook.md")


@pytest.fixture
def seed() -> Callable[[str], Runbook]:
    """Parse a seed runbook by scenario name (cached across tests; the model is immutable)."""
    return _parsed
