"""The generated ``prometheus.yml`` and file_sd target files: only sandbox (loopback) addresses, short intervals.

Every scrape target is either written here from addresses the sandbox handed in, or read by Prometheus from
file_sd JSON files that :mod:`drillbook.platform.prometheus.targets` rewrites as pods come and go. Both paths go
through :func:`require_loopback`, so a config that would reach beyond the machine is never written.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from drillbook.errors import SandboxError

SCRAPE_INTERVAL_S = 1.0
"""Scrape and rule-evaluation interval: a drill must see a breach within seconds, not after the default minute."""


@dataclass(frozen=True)
class TargetGroup:
    """One file_sd group: ``host:port`` targets and the labels Prometheus attaches to their samples."""

    targets: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScrapeJob:
    """One scrape job: static loopback targets, or a file_sd file drillbook keeps up to date."""

    name: str
    static: tuple[str, ...] = ()
    file_sd: Path | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    metrics_path: str = "/metrics"


def require_loopback(target: str) -> str:
    """Return ``host:port`` unchanged when the host is loopback; anything else is a sandbox error.

    Raises:
        SandboxError: The host is not in 127.0.0.0/8 or ::1 (names other than ``localhost`` are refused too:
            a name could resolve anywhere).
    """
    host = target.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return target
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SandboxError(
            f"refusing to let Prometheus scrape {target!r}: only sandbox (loopback) addresses may be scraped; "
            "hand in the address the sandbox reaches the target on (a pod IP or a Service's ClusterIP)"
        )
    return target


def render_config(
    jobs: Sequence[ScrapeJob], *, interval_s: float = SCRAPE_INTERVAL_S, rule_files: Sequence[Path] = ()
) -> str:
    """``prometheus.yml`` for these jobs (static targets are checked with :func:`require_loopback`).

    ``rule_files`` are evaluated every ``interval_s``; there is no ``alerting:`` section, so a firing rule notifies
    nobody: the drill reads its state from the ``ALERTS`` series.
    """
    every = f"{int(interval_s * 1000)}ms"
    scrape_configs: list[dict[str, object]] = []
    for job in jobs:
        entry: dict[str, object] = {
            "job_name": job.name,
            "metrics_path": job.metrics_path,
            "scrape_interval": every,
            "scrape_timeout": every,
        }
        if job.static:
            group: dict[str, object] = {"targets": [require_loopback(t) for t in job.static]}
            if job.labels:
                group["labels"] = dict(job.labels)
            entry["static_configs"] = [group]
        if job.file_sd is not None:
            entry["file_sd_configs"] = [{"files": [str(job.file_sd)], "refresh_interval": "1s"}]
        scrape_configs.append(entry)
    config: dict[str, object] = {
        "global": {"scrape_interval": every, "evaluation_interval": every, "scrape_timeout": every},
    }
    if rule_files:
        config["rule_files"] = [str(path) for path in rule_files]
    config["scrape_configs"] = scrape_configs
    return yaml.safe_dump(config, sort_keys=False)


RULE_GROUP = "drillbook-runbook-alerts"
"""The one rule group holding the incident's alerts."""


def render_rules(entries: Sequence[Mapping[str, object]], *, interval_s: float = SCRAPE_INTERVAL_S) -> str:
    """A rule file with one group of alerting rules (each entry: ``alert``, ``expr``, optional ``for``…)."""
    group = {"name": RULE_GROUP, "interval": f"{int(interval_s * 1000)}ms", "rules": [dict(e) for e in entries]}
    return yaml.safe_dump({"groups": [group]}, sort_keys=False, allow_unicode=True)


def write_file_sd(path: Path, groups: Sequence[TargetGroup]) -> None:
    """Replace a file_sd file atomically (Prometheus watches it and must never read half a file)."""
    body = [
        {"targets": [require_loopback(t) for t in group.targets], "labels": dict(group.labels)}
        for group in groups
        if group.targets
    ]
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(body, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, path)


def scraped_addresses(config_path: Path) -> list[str]:
    """Every ``host:port`` a generated config (and the file_sd files it names) lets Prometheus scrape."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    found: list[str] = []
    for job in config.get("scrape_configs", []):
        for group in job.get("static_configs", []):
            found.extend(group.get("targets", []))
        for sd in job.get("file_sd_configs", []):
            for name in sd.get("files", []):
                sd_path = Path(name)
                if sd_path.is_file():
                    for group in json.loads(sd_path.read_text(encoding="utf-8")):
                        found.extend(group.get("targets", []))
    return found
