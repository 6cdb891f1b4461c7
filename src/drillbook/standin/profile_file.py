"""``scenarios/<system>/standin.yaml`` → :class:`Profile`, strictly: unknown keys and bad values name their line.

The format is documented in ``docs/scenario-files.md``; :func:`check_profile` returns the problems without
raising, for ``drillbook check``.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import MappingProxyType
from typing import get_args

import yaml

from drillbook.standin.profiles import (
    Child,
    Datastore,
    Endpoint,
    FailureMode,
    IdFormat,
    LevelCase,
    Profile,
    Resource,
)
from drillbook.yamlfile import Problem, YamlFile

#: Metrics every stand-in exports; ``metrics.names`` may give each an extra name. The ``db_pool_<state>`` ones
#: exist only under such a name (``orders_db_pool_active``): one gauge per pool state, for runbooks that query
#: ``<app>_db_pool_*`` rather than ``db_pool_connections{state=…}``.
STANDARD_METRICS = (
    "http_requests_total",
    "http_errors_total",
    "http_request_duration_seconds",
    "http_request_duration_ms",
    "db_query_duration_seconds",
    "db_query_duration_ms",
    "app_info",
    "rate_limit_exceeded_total",
    "db_pool_connections",
    "db_pool_max",
    "db_pool_active",
    "db_pool_idle",
    "db_pool_waiting",
    "db_up",
    "redis_connected",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "nodejs_heap_used_percent",
)
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_TOP = {
    "service", "port", "database", "required_env", "pool", "logs", "metrics", "resource", "audit", "schema_sql",
    "endpoints", "failure_modes",
}  # fmt: skip


def load_profile(path: Path) -> Profile:
    """Read one ``standin.yaml``.

    Raises:
        ScenarioError: the file is unreadable or malformed; located at the first problem, listing all.
    """
    file = YamlFile.read(path)
    profile = _decode(file)
    file.raise_problems()
    assert profile is not None
    return profile


def check_profile(path: Path) -> list[Problem]:
    """Every problem of one ``standin.yaml`` (empty when it is valid)."""
    file = YamlFile.read(path)
    _decode(file)
    return file.in_order()


def _decode(file: YamlFile) -> Profile | None:
    if file.root is None:
        if not file.problems:
            file.error(None, "the file is empty; expected service, port, database, pool and resource")
        return None
    top = file.mapping(file.root, "standin.yaml", _TOP, ("service", "port", "database", "pool", "resource"))
    pool = file.mapping(top.get("pool"), "pool", {"size_vars", "default_size", "timeout_message"}, ("size_vars",))
    logs = file.mapping(top.get("logs"), "logs", {"level_case", "correlation_key"})
    metrics = file.mapping(top.get("metrics"), "metrics", {"ms_histograms", "names"})
    resource = _resource(file, top.get("resource"))
    size_vars = _env_names(file, pool.get("size_vars"), "pool.size_vars")
    if "size_vars" in pool and not size_vars:
        file.error(pool["size_vars"], "pool.size_vars must name at least one variable (DB_POOL_MAX)")
    message = file.string(pool.get("timeout_message"), "pool.timeout_message")
    if message is not None:
        _check_template(file, pool["timeout_message"], message)
    level = file.choice(logs.get("level_case"), "logs.level_case", get_args(LevelCase))
    service = file.string(top.get("service"), "service")
    port = file.integer(top.get("port"), "port", minimum=1)
    database = file.string(top.get("database"), "database")
    if resource is None or service is None or port is None or database is None or file.problems:
        _rest(file, top, metrics)  # still look at the rest, so one pass reports everything
        return None
    profile = Profile(
        name=file.path.parent.name,
        service=service,
        port=port,
        database=database,
        pool_vars=size_vars,
        default_pool=file.integer(pool.get("default_size"), "pool.default_size", minimum=1) or 10,
        required_env=_env_names(file, top.get("required_env"), "required_env"),
        level_case="upper" if level == "upper" else "lower",
        correlation_key=file.string(logs.get("correlation_key"), "logs.correlation_key") or "correlationId",
        pool_timeout_message=message or "timeout acquiring connection from pool (pool size {size}, waited {timeout}ms)",
        resource=resource,
        ms_histograms=bool(file.boolean(metrics.get("ms_histograms"), "metrics.ms_histograms")),
        audit=bool(file.boolean(top.get("audit"), "audit")),
        schema_sql=file.strings(top.get("schema_sql"), "schema_sql"),
        metric_names=MappingProxyType(_metric_names(file, metrics.get("names"))),
        endpoints=_endpoints(file, top.get("endpoints"), resource),
        failure_modes=MappingProxyType(_failure_modes(file, top.get("failure_modes"))),
        source=file.path,
    )
    return None if file.problems else profile


def _rest(file: YamlFile, top: dict[str, yaml.Node], metrics: dict[str, yaml.Node]) -> None:
    file.boolean(metrics.get("ms_histograms"), "metrics.ms_histograms")
    file.boolean(top.get("audit"), "audit")
    file.strings(top.get("schema_sql"), "schema_sql")
    _env_names(file, top.get("required_env"), "required_env")
    _metric_names(file, metrics.get("names"))
    _endpoints(file, top.get("endpoints"), None)
    _failure_modes(file, top.get("failure_modes"))


def _check_template(file: YamlFile, node: yaml.Node, message: str) -> None:
    try:
        message.format(size=10, timeout=1000)
    except (KeyError, IndexError, ValueError) as exc:
        file.error(
            node,
            f"pool.timeout_message may use only {{size}} and {{timeout}}, got {message!r} ({exc!r}); "
            "double a literal brace: {{ }}",
        )


def _env_names(file: YamlFile, node: yaml.Node | None, what: str) -> tuple[str, ...]:
    names = file.strings(node, what)
    for item, name in zip(file.items(node, what) if node is not None else [], names, strict=False):
        if not _ENV_NAME.match(name):
            file.error(item, f"{what}: {name!r} is not an environment variable name (letters, digits, _)")
    return names


def _identifiers(file: YamlFile, node: yaml.Node | None, what: str) -> tuple[str, ...]:
    names = file.strings(node, what)
    for item, name in zip(file.items(node, what) if node is not None else [], names, strict=False):
        if not _IDENTIFIER.match(name):
            file.error(item, f"{what}: {name!r} is not a lower-case SQL column name (a-z, 0-9, _)")
    return names


def _identifier(file: YamlFile, node: yaml.Node | None, what: str) -> str | None:
    name = file.string(node, what)
    if name is not None and not _IDENTIFIER.match(name):
        file.error(node, f"{what}: {name!r} is not a lower-case SQL name (a-z, 0-9, _)")
        return None
    return name


def _resource(file: YamlFile, node: yaml.Node | None) -> Resource | None:
    allowed = {"path", "table", "fields", "search", "slow_table", "index_sql", "id_alias", "id_format", "child"}
    raw = file.mapping(node, "resource", allowed, ("path", "table", "fields", "index_sql"))
    if node is None:
        return None
    path = file.string(raw.get("path"), "resource.path")
    table = _identifier(file, raw.get("table"), "resource.table")
    fields = _identifiers(file, raw.get("fields"), "resource.fields")
    search = _identifiers(file, raw.get("search"), "resource.search")
    for item, column in zip(file.items(raw.get("search"), "resource.search"), search, strict=False):
        if column not in fields:
            file.error(item, f"resource.search: {column!r} is not one of resource.fields ({', '.join(fields)})")
    index_sql = file.string(raw.get("index_sql"), "resource.index_sql")
    if index_sql is not None and not index_sql.upper().startswith("CREATE"):
        file.error(raw["index_sql"], f"resource.index_sql must be a CREATE INDEX statement, got {index_sql!r}")
    id_format = file.choice(raw.get("id_format"), "resource.id_format", get_args(IdFormat))
    child = _child(file, raw.get("child"))
    slow = _identifier(file, raw.get("slow_table"), "resource.slow_table") or table
    if slow is not None and table is not None and slow not in (table, child.table if child else None):
        file.error(raw.get("slow_table"), f"resource.slow_table must be {table!r} or the child's table, got {slow!r}")
    if path is None or table is None or index_sql is None or slow is None:
        return None
    return Resource(
        path=path.strip("/"),
        table=table,
        fields=fields,
        search=search,
        slow_table=slow,
        index_sql=index_sql,
        id_alias=file.string(raw.get("id_alias"), "resource.id_alias"),
        id_format="room-code" if id_format == "room-code" else "hex",
        child=child,
    )


def _child(file: YamlFile, node: yaml.Node | None) -> Child | None:
    allowed = {"path", "table", "fields", "cache_counter", "parent_column"}
    raw = file.mapping(node, "resource.child", allowed, ("path", "table", "fields"))
    if node is None:
        return None
    path = file.string(raw.get("path"), "resource.child.path")
    table = _identifier(file, raw.get("table"), "resource.child.table")
    fields = _identifiers(file, raw.get("fields"), "resource.child.fields")
    counter = _identifier(file, raw.get("cache_counter"), "resource.child.cache_counter")
    if counter is not None and counter not in fields:
        file.error(raw["cache_counter"], f"resource.child.cache_counter must be one of its fields, got {counter!r}")
    parent = _identifier(file, raw.get("parent_column"), "resource.child.parent_column") or "parent_id"
    if path is None or table is None:
        return None
    return Child(path=path.strip("/"), table=table, fields=fields, cache_counter=counter, parent_column=parent)


def _metric_names(file: YamlFile, node: yaml.Node | None) -> dict[str, str]:
    names: dict[str, str] = {}
    for key, value in file.entries(node, "metrics.names"):
        standard, exported = str(key.value), file.string(value, f"metrics.names.{key.value}")
        if standard not in STANDARD_METRICS:
            file.error(key, f"metrics.names: {standard!r} is not a standard metric; use one of: "
                       + ", ".join(STANDARD_METRICS))  # fmt: skip
            continue
        if exported is not None and not _METRIC_NAME.match(exported):
            file.error(value, f"metrics.names.{standard}: {exported!r} is not a Prometheus metric name")
            continue
        if exported is not None:
            names[standard] = exported
    return names


def _endpoints(file: YamlFile, node: yaml.Node | None, resource: Resource | None) -> tuple[Endpoint, ...]:
    found: list[Endpoint] = []
    taken = {f"/api/{resource.path}"} if resource is not None else set()
    for item in file.items(node, "endpoints"):
        what = f"endpoints[{len(found)}]"
        raw = file.mapping(item, what, {"method", "path", "status", "latency_ms", "uses", "body"}, ("path",))
        method = (file.choice(raw.get("method"), f"{what}.method", _METHODS) if "method" in raw else None) or "GET"
        path = file.string(raw.get("path"), f"{what}.path")
        if path is not None and not path.startswith("/"):
            file.error(raw["path"], f"{what}.path must start with '/', got {path!r}")
            path = None
        if path is not None and path in taken:
            file.error(raw["path"], f"{what}.path {path!r} is already served (by the resource or another endpoint)")
        status = file.integer(raw.get("status"), f"{what}.status", minimum=100)
        if status is not None and status > 599:
            file.error(raw["status"], f"{what}.status must be an HTTP status (100-599), got {status}")
        latency = file.number(raw.get("latency_ms"), f"{what}.latency_ms", minimum=0)
        uses: list[Datastore] = []
        for use in file.strings(raw.get("uses"), f"{what}.uses"):
            if use == "postgres":
                uses.append("postgres")
            elif use == "redis":
                uses.append("redis")
            else:
                file.error(raw["uses"], f"{what}.uses: {use!r} is not a datastore; use postgres or redis")
        if path is None:
            continue
        taken.add(path)
        body = file.plain(raw["body"]) if "body" in raw else {"status": "ok"}
        found.append(Endpoint(method, path, status or 200, latency or 0.0, tuple(uses), body))
    return tuple(found)


def _failure_modes(file: YamlFile, node: yaml.Node | None) -> dict[str, FailureMode]:
    modes: dict[str, FailureMode] = {}
    for key, value in file.entries(node, "failure_modes"):
        name = str(key.value)
        raw = file.mapping(value, f"failure_modes.{name}", {"description", "env"}, ("env",))
        description = file.string(raw.get("description"), f"failure_modes.{name}.description") or ""
        env: dict[str, str] = {}
        for var, setting in file.entries(raw.get("env"), f"failure_modes.{name}.env"):
            if not _ENV_NAME.match(str(var.value)):
                file.error(var, f"failure_modes.{name}.env: {var.value!r} is not an environment variable name")
            if not isinstance(setting, yaml.ScalarNode) or setting.value == "":
                file.error(setting, f"failure_modes.{name}.env.{var.value} must be a value such as '0.3'")
                continue
            env[str(var.value)] = str(setting.value)
        modes[name] = FailureMode(name, description, MappingProxyType(env))
    return modes
