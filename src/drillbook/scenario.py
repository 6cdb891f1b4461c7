"""A seed system's sandbox description: ``scenarios/<system>/scenario.yaml``.

It says which Deployment is the application, where its datastores are, and what user traffic looks like.
Decoded strictly: an unknown key or a wrong type is an error naming the file, the line and the allowed keys.

```yaml
app:        {namespace: production, deployment: api-gateway, container: api-gateway,
             selector: app=api-gateway, service: api-gateway, port: 80}
postgres:   {namespace: production, service: postgres, deployment: postgres,
             user: app, password: app, database: azora, admin_user: postgres, admin_password: postgres}
redis:      {namespace: production, service: redis, deployment: redis}
traffic:
  - {name: health, method: GET, path: /api/health, weight: 1}
slos: ["error rate < 1%", "p95 latency < 500ms"]   # when the incident states none we can measure
slo_source: records      # or prometheus: judge the SLOs as PromQL on the sandbox's Prometheus
```
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from drillbook.errors import ScenarioError

T = TypeVar("T")
MAX_INPUT_BYTES = 4_000_000
"""The most any scenario file may hold, as for runbooks: the seed systems' files are under 100 kB, so more is noise
(or a device) that would only exhaust memory."""
SCENARIO_FILES = ("scenario.yaml", "manifests.yaml", "images.yaml", "bindings.yaml", "standin.yaml", "drills.yaml")
"""Every file drillbook reads from a scenario directory (those that exist are checked before anything is used)."""
SloSource = Literal["records", "prometheus"]
SLO_SOURCES: tuple[SloSource, ...] = ("records", "prometheus")


@dataclass(frozen=True)
class AppSpec:
    """The application under test."""

    namespace: str
    deployment: str
    service: str
    port: int
    selector: str = ""
    container: str | None = None


@dataclass(frozen=True)
class PostgresSpec:
    """Where the application's PostgreSQL lives and how to log in."""

    namespace: str
    service: str
    deployment: str = "postgres"
    port: int = 5432
    user: str = "app"
    password: str = "app"
    database: str = "app"
    admin_user: str = "postgres"
    admin_password: str = "postgres"


@dataclass(frozen=True)
class RedisSpec:
    """Where the application's Redis lives."""

    namespace: str
    service: str
    deployment: str = "redis"
    port: int = 6379


@dataclass(frozen=True)
class TrafficEndpoint:
    """One kind of request simulated users make."""

    name: str
    path: str
    method: str = "GET"
    weight: int = 1
    json: dict[str, Any] | None = None


@dataclass(frozen=True)
class Scenario:
    """One seed system's sandbox description."""

    name: str
    directory: Path
    app: AppSpec
    postgres: PostgresSpec | None = None
    redis: RedisSpec | None = None
    traffic: tuple[TrafficEndpoint, ...] = field(default_factory=tuple)
    slos: tuple[str, ...] = field(default_factory=tuple)
    """Objectives drills measure when the incident's runbook states none it can measure ("error rate < 1%")."""
    slo_source: SloSource = "records"
    """Where the monitor reads each window: the traffic generator's request records, or PromQL on the sandbox's
    Prometheus (:class:`drillbook.slo.promql.PromqlWindows`), the way teams define their SLOs."""

    @property
    def runbook(self) -> Path:
        """The system's runbook (a byte-identical copy of the team's document)."""
        return self.directory / "runbook.md"

    @property
    def manifests(self) -> Path:
        """Kubernetes manifests of the system."""
        return self.directory / "manifests.yaml"

    @property
    def images(self) -> Path:
        """The image map of the system's containers."""
        return self.directory / "images.yaml"


def load_scenario(directory: Path) -> Scenario:
    """Read ``scenario.yaml`` from a scenario directory."""
    check_input_sizes(directory)
    path = directory / "scenario.yaml"
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read the scenario: {exc.strerror}", path=path) from exc
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ScenarioError(f"not valid YAML: {exc}", path=path, line=None if line is None else line + 1) from exc
    if not isinstance(node, yaml.MappingNode):
        raise ScenarioError(
            "expected a mapping with keys app, postgres, redis, traffic, slos, slo_source", path=path, line=1
        )
    top = _mapping(node, path, {"app", "postgres", "redis", "traffic", "slos", "slo_source"})
    if "app" not in top:
        raise ScenarioError("missing required key 'app'", path=path, line=1)
    traffic_node = top.get("traffic")
    traffic: list[TrafficEndpoint] = []
    if traffic_node is not None:
        if not isinstance(traffic_node, yaml.SequenceNode):
            raise ScenarioError("'traffic' must be a list of endpoints", path=path, line=_line(traffic_node))
        traffic = [_decode(TrafficEndpoint, item, path) for item in traffic_node.value]
    slos: list[str] = []
    slos_node = top.get("slos")
    if slos_node is not None:
        if not isinstance(slos_node, yaml.SequenceNode) or not all(
            isinstance(item, yaml.ScalarNode) for item in slos_node.value
        ):
            raise ScenarioError(
                "'slos' must be a list of sentences such as 'error rate < 1%'", path=path, line=_line(slos_node)
            )
        slos = [str(item.value) for item in slos_node.value]
    slo_source = _slo_source(top.get("slo_source"), path)
    return Scenario(
        name=directory.name,
        directory=directory,
        app=_decode(AppSpec, top["app"], path),
        postgres=_decode(PostgresSpec, top["postgres"], path) if "postgres" in top else None,
        redis=_decode(RedisSpec, top["redis"], path) if "redis" in top else None,
        traffic=tuple(traffic),
        slos=tuple(slos),
        slo_source=slo_source,
    )


def check_input_sizes(directory: Path, limit: int = MAX_INPUT_BYTES) -> None:
    """Refuse, before anything reads them, scenario files that are too large or are not regular files.

    Raises:
        ScenarioError: naming the file, what it holds and the limit.
    """
    for name in SCENARIO_FILES:
        path = directory / name
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ScenarioError(f"cannot read the scenario file: {exc.strerror}", path=path) from exc
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(
                "expected a regular YAML file, found a directory, device or pipe; replace it with the YAML file",
                path=path,
            )
        if info.st_size > limit:
            raise ScenarioError(
                f"expected a scenario file of at most {limit / 1_000_000:g} MB, found {info.st_size / 1_000_000:.1f} "
                "MB; is this the right file? Split manifests per system or remove generated noise",
                path=path,
            )


def _slo_source(node: yaml.Node | None, path: Path) -> SloSource:
    if node is None:
        return "records"
    value = str(node.value) if isinstance(node, yaml.ScalarNode) else None
    for source in SLO_SOURCES:
        if value == source:
            return source
    raise ScenarioError(
        f"'slo_source' must be one of {', '.join(SLO_SOURCES)}, got {value!r}", path=path, line=_line(node)
    )


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _mapping(node: yaml.Node, path: Path, allowed: set[str]) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise ScenarioError(f"expected a mapping with keys {', '.join(sorted(allowed))}", path=path, line=_line(node))
    out: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key not in allowed:
            raise ScenarioError(
                f"unknown key {key!r}; allowed keys: {', '.join(sorted(allowed))}", path=path, line=_line(key_node)
            )
        out[key] = value_node
    return out


def _decode(cls: type[T], node: yaml.Node, path: Path) -> T:
    names = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    raw = _mapping(node, path, set(names))
    values: dict[str, Any] = {}
    for key, value_node in raw.items():
        value = yaml.safe_load(yaml.serialize(value_node))
        expected = str(names[key].type)
        if expected.startswith("int") and not isinstance(value, int):
            raise ScenarioError(f"{key!r} must be an integer, got {value!r}", path=path, line=_line(value_node))
        if expected.startswith("str") and not isinstance(value, str):
            raise ScenarioError(f"{key!r} must be a string, got {value!r}", path=path, line=_line(value_node))
        values[key] = value
    missing = [n for n, f in names.items() if n not in values and f.default is f.default_factory is _missing()]
    if missing:
        raise ScenarioError(f"missing required keys: {', '.join(missing)}", path=path, line=_line(node))
    try:
        return cls(**values)
    except TypeError as exc:
        raise ScenarioError(f"cannot read {cls.__name__}: {exc}", path=path, line=_line(node)) from exc


def _missing() -> object:
    from dataclasses import MISSING

    return MISSING
