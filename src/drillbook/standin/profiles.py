"""A system's stand-in profile: the names, variables, messages and data model its runbook expects.

A profile is data, read from ``scenarios/<system>/standin.yaml`` (see ``docs/scenario-files.md``). Everything a
runbook greps for, curls or sets (pool size variable, log level spelling, the index its slow-query step creates,
its metric names) is written there, so the stand-in's behaviour is the same for every system and only the
vocabulary changes. No Python is needed to describe a new system.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from drillbook.errors import UsageError

LevelCase = Literal["lower", "upper"]
IdFormat = Literal["hex", "room-code"]
Datastore = Literal["postgres", "redis"]

PROFILE_FILE = "standin.yaml"


@dataclass(frozen=True)
class Child:
    """A resource nested under its parent (`POST /api/polls/{id}/vote`, `GET /api/rooms/{id}/messages`).

    Attributes:
        path: URL segment after the parent id.
        table: Table the rows go to; it has a ``parent_column`` column.
        fields: Text columns filled from the JSON body.
        cache_counter: When set, each insert also increments this field of a Redis hash (vote tallies).
        parent_column: Column holding the parent's id.
    """

    path: str
    table: str
    fields: tuple[str, ...]
    cache_counter: str | None = None
    parent_column: str = "parent_id"


@dataclass(frozen=True)
class Resource:
    """The business resource: create, read by id (cached in Redis), search on unindexed columns.

    Attributes:
        path: URL segment under ``/api/``.
        table: Table holding the rows (``id text primary key``).
        fields: Text columns filled from the JSON body on create (and seeded).
        search: Query parameters of ``GET /api/<path>?…``; each filters the column of the same name.
        slow_table: Table the search reads and the seed fills (the resource's own table or a child's).
        index_sql: The ``CREATE INDEX`` that makes the search fast (the runbook's own where it names one).
        id_alias: Extra response key carrying the id (zephyr returns ``roomCode``).
        id_format: ``hex`` (16 hex digits) or ``room-code`` (6 upper-case letters and digits).
        child: Optional nested resource.
    """

    path: str
    table: str
    fields: tuple[str, ...]
    search: tuple[str, ...]
    slow_table: str
    index_sql: str
    id_alias: str | None = None
    id_format: IdFormat = "hex"
    child: Child | None = None


@dataclass(frozen=True)
class Endpoint:
    """A plain endpoint beyond the resource: a fixed answer after some work on the datastores.

    Attributes:
        method: HTTP method.
        path: URL path (aiohttp route syntax: ``/api/orders/{id}``).
        status: Status code answered when the work succeeds.
        latency_ms: Work per request, spent holding a pool connection when ``uses`` names postgres.
        uses: Datastores each request needs: ``postgres`` (one pool connection and a query), ``redis`` (one GET).
        body: JSON body answered.
    """

    method: str
    path: str
    status: int = 200
    latency_ms: float = 0.0
    uses: tuple[Datastore, ...] = ()
    body: object = None


@dataclass(frozen=True)
class FailureMode:
    """A named misbehaviour: environment defaults the stand-in applies when ``STANDIN_FAILURE_MODE`` names it.

    Attributes:
        name: What image maps and docs call it (``crash-on-start``).
        description: What the system does wrong, in the runbook's terms.
        env: Variables (``STANDIN_ERROR_RATE`` …) set unless the pod's env sets them.
    """

    name: str
    description: str
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Profile:
    """Everything system-specific about one stand-in.

    Attributes:
        name: Profile name (the scenario folder).
        service: Service name used in logs and metrics (the Deployment name).
        port: Default ``$PORT``.
        database: Default database name when only ``DB_HOST``-style variables are given.
        pool_vars: Variables whose sum sizes the pool (``DB_POOL_MAX``).
        default_pool: Pool size when none of ``pool_vars`` is set.
        required_env: Variables the real app refuses to start without (checked at start).
        level_case: ``"upper"`` prints ``"level":"ERROR"`` (NestJS, Go slog) so ``grep ERROR`` finds errors.
        correlation_key: Log field carrying the correlation id (``correlationId`` for the Node services).
        pool_timeout_message: Logged when the pool has no free connection within the acquire timeout;
            ``{size}`` and ``{timeout}`` are filled in.
        resource: The business resource.
        ms_histograms: Also export ``http_request_duration_ms`` and ``db_query_duration_ms`` (azora's alerts).
        audit: Write an ``audit_logs`` row per change (zephyr's runbook reads that table).
        schema_sql: Extra DDL run once at start (tables the runbook queries, e.g. ``audit_logs``).
        metric_names: Standard metric name → the extra name the runbook queries it by
            (``db_pool_max: orders_db_pool_max``); see ``docs/scenario-files.md`` for the standard names.
        endpoints: Plain endpoints beyond the resource.
        failure_modes: Named misbehaviours (``STANDIN_FAILURE_MODE``).
        source: The file the profile was read from.
    """

    name: str
    service: str
    port: int
    database: str
    pool_vars: tuple[str, ...]
    default_pool: int
    required_env: tuple[str, ...]
    level_case: LevelCase
    correlation_key: str
    pool_timeout_message: str
    resource: Resource
    ms_histograms: bool = False
    audit: bool = False
    schema_sql: tuple[str, ...] = ()
    metric_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    endpoints: tuple[Endpoint, ...] = ()
    failure_modes: Mapping[str, FailureMode] = field(default_factory=lambda: MappingProxyType({}))
    source: Path | None = None


def default_scenarios_dir() -> Path:
    """The repository's ``scenarios/`` (this package sits in ``src/drillbook/standin/``)."""
    return Path(__file__).resolve().parents[3] / "scenarios"


def known_profiles(scenarios_dir: Path | None = None) -> list[str]:
    """The systems under ``scenarios_dir`` that have a ``standin.yaml``."""
    root = scenarios_dir or default_scenarios_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / PROFILE_FILE).is_file())


def get_profile(name: str, scenarios_dir: Path | None = None) -> Profile:
    """The profile called ``name`` (a system under ``scenarios_dir``), or the one in a ``standin.yaml`` path.

    Raises:
        UsageError: no such profile; the message lists the known ones.
        ScenarioError: the profile's file is malformed (file:line).
    """
    from drillbook.standin.profile_file import load_profile

    given = Path(name)
    if given.suffix in (".yaml", ".yml") and given.is_file():
        return load_profile(given)
    root = scenarios_dir or default_scenarios_dir()
    path = root / name / PROFILE_FILE
    if "/" not in name and path.is_file():
        return load_profile(path)
    known = ", ".join(known_profiles(root)) or "none"
    raise UsageError(
        f"unknown stand-in profile {name!r}; expected one of: {known} (systems in {root} with a {PROFILE_FILE}). "
        "Pass --profile with a scenario folder name or the path of a standin.yaml."
    )
