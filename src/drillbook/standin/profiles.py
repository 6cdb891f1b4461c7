"""One profile per seed system: the names, variables, messages and data model its runbook expects.

A profile is data only. Everything a runbook greps for, curls or sets (pool size variable, log level spelling,
the index its slow-query step creates) is written here, so the stand-in's behaviour is the same for every
system and only the vocabulary changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from drillbook.errors import UsageError

LevelCase = Literal["lower", "upper"]


@dataclass(frozen=True)
class Child:
    """A resource nested under its parent (`POST /api/polls/{id}/vote`, `GET /api/rooms/{id}/messages`).

    Attributes:
        path: URL segment after the parent id.
        table: Table the rows go to; it has a ``parent_id`` column.
        fields: Text columns filled from the JSON body.
        cache_counter: When set, each insert also increments this field of a Redis hash (vote tallies).
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
        child: Optional nested resource.
    """

    path: str
    table: str
    fields: tuple[str, ...]
    search: tuple[str, ...]
    slow_table: str
    index_sql: str
    id_alias: str | None = None
    child: Child | None = None


@dataclass(frozen=True)
class Profile:
    """Everything system-specific about one stand-in.

    Attributes:
        name: Profile name (the scenario folder).
        service: Service name used in logs and metrics (the Deployment name).
        port: Default ``$PORT``.
        database: Default database name when only ``DB_HOST``-style variables are given.
        pool_vars: Variables whose sum sizes the pool, first one required-ish (``DB_POOL_MAX``).
        default_pool: Pool size when none of ``pool_vars`` is set.
        required_env: Variables the real app refuses to start without (checked at start).
        level_case: ``"upper"`` prints ``"level":"ERROR"`` (NestJS, Go slog) so ``grep ERROR`` finds errors.
        correlation_key: Log field carrying the correlation id (``correlationId`` for the Node services).
        pool_timeout_message: Logged when the pool has no free connection within the acquire timeout;
            ``{size}`` and ``{timeout}`` are filled in.
        ms_histograms: Also export ``http_request_duration_ms`` and ``db_query_duration_ms`` (azora's alerts).
        resource: The business resource.
        audit: Write an ``audit_logs`` row per change (zephyr's runbook reads that table).
        schema_sql: Extra DDL run once at start (tables the runbook queries, e.g. ``audit_logs``).
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
    schema_sql: tuple[str, ...] = field(default=())


ZEPHYR = Profile(
    name="zephyr-voting",
    service="zephyr-backend",
    port=3000,
    database="zephyr",
    pool_vars=("DB_POOL_MAX",),
    default_pool=10,
    required_env=("DATABASE_URL", "REDIS_URL"),
    level_case="lower",
    correlation_key="correlationId",
    pool_timeout_message="Error: timeout acquiring connection from pool (DB_POOL_MAX={size}, waited {timeout}ms)",
    resource=Resource(
        path="polls",
        table="polls",
        fields=("question", "options", "host_id"),
        search=("host_id",),
        # The hot list query tallies votes per poll; without this index every list scans the votes table.
        slow_table="votes",
        index_sql="CREATE INDEX IF NOT EXISTS idx_votes_poll_id ON votes(poll_id)",
        id_alias="roomCode",
        child=Child(path="vote", table="votes", fields=("option",), cache_counter="option", parent_column="poll_id"),
    ),
    audit=True,
    schema_sql=(
        "ALTER TABLE polls ADD COLUMN IF NOT EXISTS is_active boolean NOT NULL DEFAULT true",
        "ALTER TABLE polls ADD COLUMN IF NOT EXISTS expires_at timestamptz NOT NULL DEFAULT now() + interval '1 day'",
        "CREATE TABLE IF NOT EXISTS audit_logs (id bigserial PRIMARY KEY, action text NOT NULL,"
        " detail jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now())",
    ),
)

AZORA = Profile(
    name="azora",
    service="api-gateway",
    port=8080,
    database="azora",
    pool_vars=("DATABASE_POOL_SIZE",),
    default_pool=10,
    required_env=("DATABASE_URL", "REDIS_URL", "JWT_SECRET"),
    level_case="lower",
    correlation_key="correlationId",
    pool_timeout_message="Connection pool exhausted: timeout acquiring connection after {timeout}ms"
    " (DATABASE_POOL_SIZE={size}); too many connections in use",
    ms_histograms=True,
    resource=Resource(
        path="users",
        table="users",
        fields=("email", "name"),
        search=("email",),
        slow_table="users",
        index_sql="CREATE INDEX IF NOT EXISTS idx_users_email ON users(email)",
    ),
)

CHAT_ROOMS = Profile(
    name="chat-rooms",
    service="chat-rooms-api",
    port=3000,
    database="chat_rooms",
    pool_vars=("DATABASE_POOL_SIZE",),
    default_pool=10,
    required_env=("DATABASE_URL", "REDIS_URL"),
    level_case="upper",
    correlation_key="correlationId",
    pool_timeout_message="Database connection pool exhausted: timeout acquiring connection after {timeout}ms"
    " (pool size {size})",
    resource=Resource(
        path="rooms",
        table="rooms",
        fields=("name", "owner_id"),
        search=("owner_id",),
        slow_table="messages",
        index_sql="CREATE INDEX IF NOT EXISTS idx_messages_room_id_created_at ON messages(room_id, created_at DESC)",
        child=Child(path="messages", table="messages", fields=("user_id", "body"), parent_column="room_id"),
    ),
)

PHASE5_TODO = Profile(
    name="phase5-todo",
    service="backend",
    port=8000,
    database="todo",
    pool_vars=("DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW"),
    default_pool=20,
    required_env=("DATABASE_URL", "REDIS_URL"),
    level_case="lower",
    correlation_key="correlation_id",
    pool_timeout_message="sqlalchemy.exc.TimeoutError: QueuePool limit of size {size} reached,"
    " connection timed out, timeout {timeout}ms (timeout acquiring connection)",
    resource=Resource(
        path="tasks",
        table="tasks",
        fields=("user_id", "status", "title"),
        search=("user_id", "status"),
        slow_table="tasks",
        index_sql="CREATE INDEX IF NOT EXISTS idx_tasks_user_id_status ON tasks(user_id, status)",
    ),
    schema_sql=("ALTER TABLE tasks ADD COLUMN IF NOT EXISTS due_date timestamptz",),
)

ARCHITECT_API = Profile(
    name="architect-api",
    service="architect-api",
    port=8080,
    database="architect",
    pool_vars=("DB_MAX_OPEN_CONNS",),
    default_pool=10,
    required_env=("DATABASE_URL", "REDIS_URL"),
    level_case="upper",
    correlation_key="request_id",
    pool_timeout_message="connection limit exceeded: timeout acquiring connection after {timeout}ms"
    " (DB_MAX_OPEN_CONNS={size})",
    resource=Resource(
        path="projects",
        table="projects",
        fields=("name", "owner_id"),
        search=("owner_id",),
        slow_table="projects",
        index_sql="CREATE INDEX IF NOT EXISTS idx_projects_owner_id ON projects(owner_id)",
    ),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (ZEPHYR, AZORA, CHAT_ROOMS, PHASE5_TODO, ARCHITECT_API)}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name``.

    Raises:
        UsageError: no such profile; the message lists the known ones.
    """
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise UsageError(
            f"unknown stand-in profile {name!r}; expected one of: {known}. Pass --profile with a scenario folder name."
        ) from None
