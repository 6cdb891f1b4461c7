"""User traffic for a sandbox: the scenario's endpoints, driven by locust in its own process."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from drillbook.slo.stats import RequestRecord
from drillbook.traffic.generator import LoadGenerator
from drillbook.traffic.profile import DEFAULT_PROFILE, Endpoint, TrafficProfile

if TYPE_CHECKING:
    from drillbook.platform.kube_sandbox import KubeSandbox

MAX_RUN_S = 1800.0
"""Traffic always ends by itself: no drill is allowed to generate load for more than half an hour."""


class SandboxTraffic:
    """A running load generator, as the drill and the load-spike fault see it."""

    def __init__(self, generator: LoadGenerator) -> None:
        self.generator = generator

    @property
    def users(self) -> int:
        """Current simulated users."""
        return self.generator.users

    def set_users(self, users: int) -> None:
        """Change the simulated users without restarting."""
        self.generator.set_users(users)

    def stop(self) -> None:
        """End the run and reap locust."""
        self.generator.stop()


def start_traffic(sandbox: KubeSandbox, users: int, on_record: Callable[[RequestRecord], None]) -> SandboxTraffic:
    """Start traffic against the sandbox's application with the scenario's endpoints."""
    endpoints = tuple(
        Endpoint(name=e.name, method=e.method, path=e.path, weight=e.weight, json_body=e.json)
        for e in sandbox.scenario.traffic
    )
    profile = TrafficProfile(endpoints=endpoints) if endpoints else DEFAULT_PROFILE
    workdir = sandbox.workdir / "traffic"
    workdir.mkdir(parents=True, exist_ok=True)
    generator = LoadGenerator(
        sandbox.app_url, run_time_s=MAX_RUN_S, users=users, profile=profile, on_record=on_record, workdir=workdir
    )
    generator.start()
    return SandboxTraffic(generator)
