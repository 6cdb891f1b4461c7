"""The generated ``prometheus.yml`` and file_sd target files: only sandbox (loopback) addresses, short intervals.

Every scrape target is either written here from addresses the sandbox handed in, or read by Prometheus from
file_sd JSON files that :mod:`drillbook.platform.prometheus.targets` rewrites as pods come and go. Both paths go
through :func:`require_loopback`, so a config that would reach beyond the machine is never written.

On a real cluster every target is the API server's loopback address and the ``__metrics_path__`` label picks the
pod or node behind its proxy; such a job carries a :class:`ScrapeAuth` (the sandbox kubeconfig's credentials, as
files) and its ``scheme``.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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
class ScrapeAuth:
    """How Prometheus connects to a job's targets: the scheme and, for an API server, the kubeconfig's credentials.

    Every path names a file drillbook wrote (mode 0600) under the Prometheus state directory.
    """

    scheme: Literal["http", "https"] = "http"
    ca_file: Path | None = None
    """The cluster's CA; ``None`` trusts the system's (or nothing is verified, see ``insecure_skip_verify``)."""
    cert_file: Path | None = None
    key_file: Path | None = None
    token_file: Path | None = None
    """A bearer token, sent as ``Authorization: Bearer``."""
    insecure_skip_verify: bool = False
    """The kubeconfig says ``insecure-skip-tls-verify: true``: Prometheus does as kubectl does."""

    def render(self) -> dict[str, object]:
        """The job-level keys (``scheme``, ``tls_config``, ``authorization``) for ``prometheus.yml``."""
        keys: dict[str, object] = {"scheme": self.scheme}
        tls = {
            key: str(path)
            for key, path in (("ca_file", self.ca_file), ("cert_file", self.cert_file), ("key_file", self.key_file))
            if path is not None
        }
        tls_config: dict[str, object] = dict(tls)
        if self.insecure_skip_verify:
            tls_config["insecure_skip_verify"] = True
        if tls_config:
            keys["tls_config"] = tls_config
        if self.token_file is not None:
            keys["authorization"] = {"type": "Bearer", "credentials_file": str(self.token_file)}
        return keys


@dataclass(frozen=True)
class ScrapeJob:
    """One scrape job: static loopback targets (plain or in labelled groups), or a file_sd file drillbook keeps up
    to date."""

    name: str
    static: tuple[str, ...] = ()
    file_sd: Path | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels of the ``static`` targets."""
    metrics_path: str = "/metrics"
    groups: tuple[TargetGroup, ...] = ()
    """Static groups with labels of their own (a node's ``__metrics_path__`` behind the API server's proxy)."""
    auth: ScrapeAuth | None = None
    """``None``: plain HTTP, no credentials (every loopback exporter and localkube's pods)."""


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
        if job.auth is not None:
            entry.update(job.auth.render())
        groups = [TargetGroup(job.static, job.labels)] if job.static else []
        static = [_static_group(g) for g in (*groups, *job.groups) if g.targets]
        if static:
            entry["static_configs"] = static
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


def _static_group(group: TargetGroup) -> dict[str, object]:
    entry: dict[str, object] = {"targets": [require_loopback(t) for t in group.targets]}
    if group.labels:
        entry["labels"] = dict(group.labels)
    return entry


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
