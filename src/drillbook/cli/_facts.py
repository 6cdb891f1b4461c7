"""What a runbook says about the system it runs against, for ``drillbook init``.

Read from the commands and text as written: the namespace of ``-n``, the Deployment of ``deployment/x``, ports,
the variables ``kubectl set env`` changes, the datastores its tools reach, the metric names it queries, the URLs
and placeholders it uses. Whatever is guessed is recorded with the line it came from, so ``init`` can say which
line of which generated file to edit when the guess is wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from drillbook.runbook.model import Command, Effect, Incident, Runbook

_NAMESPACE = re.compile(r"(?:^|\s)(?:-n|--namespace)(?:\s+|=)([a-z0-9][-a-z0-9]*)")
_DEPLOYMENT = re.compile(r"\b(?:deployments?|deploy)(?:/|\s+)([a-z0-9][-a-z0-9.]*)")
_URL = re.compile(r"\bhttps?://[^\s\"'`<>)]+")
_PORT_FORWARD = re.compile(r"port-forward\s+\S+\s+(?:-n\s+\S+\s+)?(\d+):(\d+)")
_SET_ENV = re.compile(r"\bset\s+env\b(?P<rest>.*)")
_ASSIGN = re.compile(r"\b([A-Z][A-Z0-9_]{2,})=")
_ENV_NAME = re.compile(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`")
_POOL_METRIC = re.compile(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)*)_db_pool_(active|idle|waiting|max)\b")
_DATASTORES = ("postgres", "postgresql", "redis", "psql", "pg", "redis-cli", "mysql")
_POSTGRES = re.compile(r"\bpsql\b|\bpg_\w+|postgres|\bDATABASE_URL\b|\bSELECT\b", re.IGNORECASE)
_REDIS = re.compile(r"\bredis(?:-cli)?\b|\bREDIS_URL\b", re.IGNORECASE)
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class Decision:
    """One thing ``init`` had to decide, the value it chose and where in the runbook it saw it (0: nowhere)."""

    what: str
    value: str
    line: int = 0
    sure: bool = True
    why: str = ""


@dataclass
class SystemFacts:
    """Everything ``init`` takes from one runbook."""

    system: str
    namespace: str
    app: str
    port: int
    postgres: bool
    redis: bool
    pool_var: str
    env_vars: list[str] = field(default_factory=list)
    metric_names: dict[str, str] = field(default_factory=dict)
    """Standard metric (``db_pool_active``) → the runbook's name for it (``orders_db_pool_active``)."""
    urls: list[str] = field(default_factory=list)
    """URL prefixes (scheme://host[:port]) that are not loopback: bound to the app's Service."""
    loopback_urls: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    health_path: str = "/api/health"
    decisions: list[Decision] = field(default_factory=list)


def commands_of(runbook: Runbook) -> list[Command]:
    """Every command of every incident step, in reading order."""
    return [c for i in runbook.incidents for s in i.steps for c in s.commands]


def read_facts(system: str, runbook: Runbook, text: str) -> SystemFacts:
    """The system ``runbook`` describes; ``text`` is its markdown (for names written outside commands)."""
    commands = commands_of(runbook)
    shell = [c for c in commands if c.effect is not Effect.MANUAL]
    decisions: list[Decision] = []
    namespace = _most_common(
        [(m.group(1), c.line) for c in shell for m in _NAMESPACE.finditer(" " + c.text)],
        _line_matches(text, r"namespace\s+`([a-z0-9-]+)`"),
    )
    if namespace is None:
        namespace = (system, 0)
        decisions.append(Decision("namespace", system, 0, False, "no command names one (-n NAMESPACE)"))
    else:
        decisions.append(Decision("namespace", namespace[0], namespace[1]))
    deployments = [
        (m.group(1), c.line)
        for c in shell
        for m in _DEPLOYMENT.finditer(c.text)
        if not any(d in m.group(1) for d in _DATASTORES)
    ]
    app = _most_common(deployments, [])
    if app is None:
        app = (system, 0)
        decisions.append(Decision("app Deployment", system, 0, False, "no command names one (deployment/NAME)"))
    else:
        decisions.append(Decision("app Deployment", app[0], app[1]))
    everything = text + "\n" + "\n".join(c.text for c in commands)
    pool_var, pool_line = _pool_variable(shell, text)
    if pool_line == 0:
        decisions.append(Decision("pool size variable", pool_var, 0, False, "the runbook sets none"))
    else:
        decisions.append(Decision("pool size variable", pool_var, pool_line))
    urls, loopback = _urls(everything)
    port = _port(shell, loopback)
    return SystemFacts(
        system=system,
        namespace=namespace[0],
        app=app[0],
        port=port,
        postgres=bool(_POSTGRES.search(everything)),
        redis=bool(_REDIS.search(everything)),
        pool_var=pool_var,
        env_vars=_env_vars(shell, text),
        metric_names={f"db_pool_{kind}": f"{prefix}_db_pool_{kind}" for prefix, kind in _POOL_METRIC.findall(text)},
        urls=urls,
        loopback_urls=loopback,
        placeholders=sorted({p for c in commands for p in c.placeholders}),
        health_path=_health_path(everything),
        decisions=decisions,
    )


def _most_common(found: list[tuple[str, int]], more: list[tuple[str, int]]) -> tuple[str, int] | None:
    """The most frequent name, with the line it first appears on."""
    every = found + more
    if not every:
        return None
    name, _ = Counter(n for n, _ in every).most_common(1)[0]
    return name, next(line for n, line in every if n == name)


def _line_matches(text: str, pattern: str) -> list[tuple[str, int]]:
    return [(m.group(1), at) for at, line in enumerate(text.splitlines(), start=1) for m in re.finditer(pattern, line)]


def _pool_variable(shell: list[Command], text: str) -> tuple[str, int]:
    for command in shell:
        if match := _SET_ENV.search(command.text):
            for name in _ASSIGN.findall(match["rest"]):
                if "POOL" in name or "CONN" in name:
                    return name, command.line
    for name, line in _line_matches(text, r"\b([A-Z][A-Z0-9_]*POOL[A-Z0-9_]*)\b"):
        return name, line
    return "DB_POOL_SIZE", 0


def _env_vars(shell: list[Command], text: str) -> list[str]:
    names: list[str] = []
    for command in shell:
        if match := _SET_ENV.search(command.text):
            names.extend(_ASSIGN.findall(match["rest"]))
    names.extend(m.group(1) for m in _ENV_NAME.finditer(text))
    return sorted(set(names))


def _urls(text: str) -> tuple[list[str], list[str]]:
    remote: list[str] = []
    loopback: list[str] = []
    for url in _URL.findall(text):
        match = re.match(r"(https?://[^/]+)", url.rstrip(".,;:"))
        if match is None or "{" in match.group(1) or "$" in match.group(1):
            continue
        prefix = match.group(1)
        host = prefix.split("//", 1)[1].rsplit(":", 1)[0] if "]" not in prefix else "[::1]"
        target = loopback if host in _LOOPBACK else remote
        if prefix not in target:
            target.append(prefix)
    return remote, loopback


def _port(shell: list[Command], loopback: list[str]) -> int:
    for command in shell:
        if (match := _PORT_FORWARD.search(command.text)) and command.resource != "svc/prometheus":
            return int(match.group(2))
    return 8080


def _health_path(text: str) -> str:
    for path in ("/api/health", "/healthz", "/health"):
        if path in text:
            return path
    return "/api/health"


def incident_text(incident: Incident, text: str) -> str:
    """The incident's own words (title, symptoms, steps), for choosing its fault."""
    parts = [incident.title, *incident.symptoms]
    for step in incident.steps:
        parts.extend([step.title, step.prose, *(c.text for c in step.commands)])
    return "\n".join(parts)


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when it is inside it."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
