"""What the drill needs from the layers beside it, as protocols: the drill never imports a platform."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from drillbook.drill.settle import SandboxSnapshot
from drillbook.faults.target import FaultTarget, TrafficControl
from drillbook.journal import Decision, Platform, ToolVersions
from drillbook.runbook.model import Step
from drillbook.slo.alerts import AlertRule
from drillbook.slo.promql import PromQuery
from drillbook.slo.stats import RequestRecord, WindowStats


class CommandOutcome(Protocol):
    """One command of a step, after the executor's policy and (maybe) a run."""

    @property
    def as_written(self) -> str: ...
    @property
    def as_run(self) -> str: ...
    @property
    def decision(self) -> Decision: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def output(self) -> str: ...
    @property
    def started(self) -> float: ...
    @property
    def ended(self) -> float: ...
    @property
    def reason(self) -> str: ...
    @property
    def supplied_by_drill(self) -> bool: ...


class StepRunner(Protocol):
    """Runs a runbook step's commands in the sandbox (bindings, policy, deadlines)."""

    def run_step(
        self, step: Step, *, branch: str | None = None, supplied: str | None = None
    ) -> Sequence[CommandOutcome]: ...


class BackgroundEnded(Protocol):
    """A command that ran in the background until the incident's steps ended (``kubectl port-forward``)."""

    @property
    def step(self) -> int: ...
    def describe(self) -> str: ...


@runtime_checkable
class BackgroundCommands(Protocol):
    """Optional ability of a step runner: commands it keeps running for later steps, ended when the steps end."""

    def end_background(self) -> Sequence[BackgroundEnded]: ...


class Traffic(TrafficControl, Protocol):
    """The running traffic generator."""

    def stop(self) -> None: ...


class Sandbox(Protocol):
    """A provisioned copy of one system."""

    @property
    def platform(self) -> Platform: ...
    @property
    def platform_label(self) -> str: ...
    @property
    def app_url(self) -> str: ...
    def versions(self) -> ToolVersions: ...
    def fault_target(self, traffic: TrafficControl | None) -> FaultTarget: ...
    def step_runner(self) -> StepRunner: ...
    def start_traffic(self, users: int, on_record: Callable[[RequestRecord], None]) -> Traffic: ...
    def close(self) -> None: ...


@runtime_checkable
class SloWindowSource(Protocol):
    """Optional ability of a sandbox: judge SLO windows from elsewhere than the request records.

    A sandbox whose scenario says ``slo_source: prometheus`` returns PromQL-computed windows
    (:class:`drillbook.slo.promql.PromqlWindows`); ``None`` keeps the records.
    """

    def slo_window_source(self) -> Callable[[float, float], WindowStats] | None: ...


@runtime_checkable
class PrometheusQueries(Protocol):
    """Optional ability of a sandbox: a Prometheus the incident's alert rules can be evaluated against."""

    def prom_query(self) -> PromQuery | None: ...


@runtime_checkable
class BringUpReport(Protocol):
    """Optional ability of a sandbox: its bring-up actions (and, once closed, their undos) with their seconds."""

    def bringup_summary(self) -> str: ...


@runtime_checkable
class AlertRuleLoader(Protocol):
    """Optional ability of a sandbox: load the incident's alerts into its Prometheus as real alerting rules."""

    def load_alert_rules(self, rules: Sequence[AlertRule]) -> None: ...


@runtime_checkable
class ChangeProbe(Protocol):
    """Optional ability of a sandbox: whether anything the scenario deployed is still changing.

    A sandbox without it never lets a recovery watch end as settled (:mod:`drillbook.drill.settle`).
    """

    def change_fingerprint(self) -> SandboxSnapshot:
        """The sandbox now; raises a :class:`~drillbook.errors.DrillbookError` when it cannot be read."""
        ...


SandboxFactory = Callable[[str], Sandbox]
"""Provision the named system (``scenarios/<system>/``) and return it running."""

FaultParams = Mapping[str, str]
