"""Where drills run. One module per provider; each exposes ``provider(scenarios_dir, run_dir)`` returning a
sandbox factory. A drill never knows which provider it runs on; the report says which one it was."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from drillbook.errors import UsageError
from drillbook.journal import Platform

if TYPE_CHECKING:
    from drillbook.drill.ports import SandboxFactory

PROVIDERS: dict[Platform, str] = {
    Platform.LOCAL: "drillbook.platform.local.sandbox",
    Platform.DOCKER: "drillbook.platform.docker.provider",
    Platform.KIND: "drillbook.platform.kind",
    Platform.K3S: "drillbook.platform.k3s",
    Platform.EXISTING: "drillbook.platform.existing",
}
"""Provider modules, imported only when chosen (kind/k3s pull in docker and testcontainers)."""


def sandbox_factory(platform: Platform, scenarios_dir: Path, run_dir: Path) -> SandboxFactory:
    """The sandbox factory of the chosen platform."""
    try:
        module = importlib.import_module(PROVIDERS[platform])
    except KeyError:
        known = ", ".join(p.value for p in PROVIDERS)
        raise UsageError(f"unknown platform {platform!r}; choose one of: {known}") from None
    factory: SandboxFactory = module.provider(scenarios_dir, run_dir)
    return factory
