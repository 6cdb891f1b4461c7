"""The sandbox's last bring-up action: a real Prometheus scraping the app, the containers and the datastores.

``up`` starts, in order, each one's undo stacked before it acts:

1. the cluster's side, as the context's :class:`~drillbook.platform.prometheus.modes.ClusterScrape` reaches it:
   the app pod targets (a file_sd file rewritten as pods come and go) and the container metrics — on localkube
   the pods' loopback IPs and drillbook's cAdvisor-style exporter, on a real cluster the API server's proxy
   (:mod:`~drillbook.platform.prometheus.modes`);
2. the datastores' exporters — Debian's ``prometheus-postgres-exporter`` / ``prometheus-redis-exporter`` for the
   scenario's datastores, reached on the Services' loopback addresses;
3. Prometheus itself, on loopback, with the generated config and a per-run TSDB directory.

``down`` runs the undos in reverse (every one, even when one fails) and removes the storage directory. Every
process dies with the thread that started it, so a killed run leaves none behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillbook.errors import SandboxError
from drillbook.execute.bindings import Bindings
from drillbook.platform.prometheus.bindings import with_prometheus
from drillbook.platform.prometheus.client import PrometheusClient
from drillbook.platform.prometheus.config import ScrapeJob, render_config, render_rules
from drillbook.platform.prometheus.modes import ClusterScrape
from drillbook.platform.prometheus.process import (
    ServerProcess,
    postgres_exporter,
    prometheus_process,
    redis_exporter,
)
from drillbook.scenario import Scenario


@dataclass(frozen=True)
class PrometheusContext:
    """What the action needs from the sandbox being brought up."""

    scenario: Scenario
    cluster: ClusterScrape
    """How the app pods and the container metrics are reached: ``PodsOnLoopback`` or ``ThroughApiServer``."""
    api_client: Any
    """The sandbox's ``kubernetes`` API client (pods are listed for the app's targets)."""
    service_address: Callable[[str, str, int | None], tuple[str, int]]
    """Loopback host and port reaching a Service (``ServiceAccess.address``)."""
    state_dir: Path
    """A per-run temp directory for the config, file_sd and TSDB; removed by ``down``."""
    evidence_dir: Path
    """Where the logs are kept after the run."""


class PrometheusAction:
    """Bring-up action: ``up(context)`` starts Prometheus and its exporters, ``down()`` undoes it all."""

    def __init__(self) -> None:
        self._undos: list[Callable[[], None]] = []
        self.prometheus: ServerProcess | None = None
        self.exporters: list[ServerProcess] = []
        self.config_file: Path | None = None
        self.rules_file: Path | None = None
        """The alerting rules the drill loaded (:meth:`load_rules`); empty until then."""
        self.started_in_s: float | None = None
        """Seconds the whole action took (exporters, targets and Prometheus)."""
        self.prometheus_ready_s: float | None = None
        """Seconds from starting Prometheus until its ready endpoint answered (the 1.5 s budget)."""

    @property
    def url(self) -> str:
        """Base URL of the sandbox's Prometheus (loopback)."""
        if self.prometheus is None:
            raise RuntimeError("PrometheusAction.url read before up()")
        return self.prometheus.url

    def client(self) -> PrometheusClient:
        """An HTTP API client for it."""
        return PrometheusClient(self.url)

    def bindings(self, scenario_bindings: Bindings) -> Bindings:
        """The scenario's bindings plus every Prometheus URL runbooks use, bound to this Prometheus."""
        return with_prometheus(scenario_bindings, self.url)

    def up(self, context: PrometheusContext) -> PrometheusAction:
        """Start everything; on failure, undo what was started and re-raise."""
        began = time.monotonic()
        try:
            self._up(context)
        except BaseException:
            self.down()
            raise
        self.started_in_s = time.monotonic() - began
        return self

    def _up(self, ctx: PrometheusContext) -> None:
        state, logs = ctx.state_dir, ctx.evidence_dir
        state.mkdir(parents=True, exist_ok=True)
        self._undos.append(lambda: shutil.rmtree(state, ignore_errors=True))
        jobs: list[ScrapeJob] = ctx.cluster.start(ctx, self._undos.append)
        pg = ctx.scenario.postgres
        if pg is not None:
            host, port = ctx.service_address(pg.namespace, pg.service, pg.port)
            dsn = f"postgresql://{pg.admin_user}:{pg.admin_password}@{host}:{port}/{pg.database}?sslmode=disable"
            jobs.append(self._exporter(postgres_exporter(dsn, logs / "postgres-exporter.log"), "postgres"))
        redis = ctx.scenario.redis
        if redis is not None:
            host, port = ctx.service_address(redis.namespace, redis.service, redis.port)
            jobs.append(self._exporter(redis_exporter(f"{host}:{port}", logs / "redis-exporter.log"), "redis"))
        self.config_file = state / "prometheus.yml"
        self.rules_file = state / "rules.yml"
        self.rules_file.write_text(render_rules([]), encoding="utf-8")
        self.prometheus = prometheus_process(self.config_file, state / "tsdb", logs / "prometheus.log")
        jobs.append(ScrapeJob("prometheus", static=(f"127.0.0.1:{self.prometheus.port}",)))
        self.config_file.write_text(render_config(jobs, rule_files=[self.rules_file]), encoding="utf-8")
        self._undos.append(self._keep_config(ctx))
        self._undos.append(self.prometheus.stop)
        began = time.monotonic()
        self.prometheus.start()
        self.prometheus_ready_s = time.monotonic() - began

    def load_rules(self, entries: Sequence[Mapping[str, object]], *, timeout_s: float = 15.0) -> None:
        """Replace the alerting rules with ``entries`` and reload Prometheus; return once it evaluates them all.

        Raises:
            SandboxError: Prometheus refused the rule file (its error quoted) or did not list the rules in time.
        """
        if self.prometheus is None or self.rules_file is None:
            raise SandboxError("the sandbox's Prometheus is not running: no alerting rules can be loaded")
        partial = self.rules_file.with_suffix(".tmp")
        partial.write_text(render_rules(entries), encoding="utf-8")
        os.replace(partial, self.rules_file)
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace").strip()
            raise SandboxError(
                f"the sandbox's Prometheus refused the alerting rules in {self.rules_file}: {body or exc.reason}"
            ) from exc
        except OSError as exc:
            raise SandboxError(f"could not reload the sandbox's Prometheus at {self.url}: {exc}") from exc
        want = {str(e["alert"]) for e in entries}
        deadline = time.monotonic() + timeout_s
        listed: set[str] = set()
        while time.monotonic() < deadline:
            listed = self._loaded_alerts()
            if want <= listed and (want or not listed):
                return
            time.sleep(0.1)
        raise SandboxError(
            f"the sandbox's Prometheus did not list the alerting rules {sorted(want - listed)} within "
            f"{timeout_s:.0f} s of a reload (it lists {sorted(listed)}); see prometheus.log in the evidence"
        )

    def _loaded_alerts(self) -> set[str]:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/rules?type=alert", timeout=5) as response:
                body = json.loads(response.read())
        except (OSError, ValueError):
            return set()
        groups = body.get("data", {}).get("groups", [])
        return {str(rule.get("name")) for group in groups for rule in group.get("rules", [])}

    def _exporter(self, exporter: ServerProcess, job: str) -> ScrapeJob:
        self.exporters.append(exporter)
        self._undos.append(exporter.stop)
        exporter.start()
        return ScrapeJob(job, static=(f"{exporter.host}:{exporter.port}",))

    def _keep_config(self, ctx: PrometheusContext) -> Callable[[], None]:
        def keep() -> None:
            if self.config_file is not None:
                with contextlib.suppress(OSError):
                    shutil.copy(self.config_file, ctx.evidence_dir / "prometheus.yml")
            if self.rules_file is not None:
                with contextlib.suppress(OSError):
                    shutil.copy(self.rules_file, ctx.evidence_dir / "prometheus-rules.yml")

        return keep

    def down(self) -> None:
        """Undo in reverse; every undo runs, the first failure is raised after the rest ran."""
        failure: BaseException | None = None
        while self._undos:
            try:
                self._undos.pop()()
            except BaseException as exc:  # re-raised below, once the other undos ran
                failure = failure or exc
        self.prometheus = None
        self.exporters = []
        if failure is not None:
            raise failure
