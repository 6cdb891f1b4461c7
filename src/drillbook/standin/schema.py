"""Tables, seed data and the runbook's index, created once per database whatever the number of replicas.

All of it runs in one transaction under an advisory lock, so replicas starting together neither race on
``CREATE TABLE`` nor seed twice. The searchable table is seeded with ``STANDIN_SEED_ROWS`` rows, so a search on
its unindexed column really scans; the runbook's own ``CREATE INDEX`` is what makes it fast.
"""

from __future__ import annotations

from typing import Any

from drillbook.standin.config import StandinConfig
from drillbook.standin.profiles import Profile

# Any constant works; it only has to be the same for every replica of every profile.
_LOCK_KEY = 0x5EED_57A1


def _columns(fields: tuple[str, ...]) -> str:
    return "".join(f", {f} text" for f in fields)


#: Seconds the one-off seeding statements may take. The pool's 30 s command timeout is for requests: on a busy
#: machine azora's 2M-row seed took longer, was cancelled, and retried forever (the replica never became ready).
SEED_TIMEOUT_S = 600.0


def table_ddl(profile: Profile) -> list[str]:
    """The DDL for the profile's tables, without the runbook's index."""
    res = profile.resource
    ddl = [
        f"CREATE TABLE IF NOT EXISTS {res.table} (id text PRIMARY KEY{_columns(res.fields)},"
        " created_at timestamptz NOT NULL DEFAULT now())",
    ]
    if res.child is not None:
        child = res.child
        ddl.append(
            f"CREATE TABLE IF NOT EXISTS {child.table} (id bigserial PRIMARY KEY,"
            f" {child.parent_column} text NOT NULL{_columns(child.fields)},"
            " created_at timestamptz NOT NULL DEFAULT now())"
        )
    ddl.append("CREATE TABLE IF NOT EXISTS standin_meta (key text PRIMARY KEY, value text NOT NULL)")
    ddl.extend(profile.schema_sql)
    return ddl


def _seed_value(field: str, search: tuple[str, ...]) -> str:
    if field == "email":
        return "'user' || g || '@example.com'"
    if field == "option":
        return "(g % 4)::text"
    if field == "status":
        return "(ARRAY['active','done','archived'])[1 + g % 3]"
    if field in search:
        return f"'{field.split('_', maxsplit=1)[0]}-' || (g % 1000)"
    return f"'{field} ' || g"


def seed_sql(profile: Profile) -> str:
    """``INSERT … SELECT … generate_series(1, $1)`` filling the searchable table."""
    res = profile.resource
    if res.child is not None and res.slow_table == res.child.table:
        child = res.child
        cols = ", ".join((child.parent_column, *child.fields))
        values = ", ".join(("'seed-' || (1 + g % 100)", *(_seed_value(f, ()) for f in child.fields)))
        return (
            f"INSERT INTO {child.table} ({cols}, created_at) "
            f"SELECT {values}, now() - g * interval '1 second' FROM generate_series(1, $1::int) g"
        )
    cols = ", ".join(("id", *res.fields))
    values = ", ".join(("'seed-' || g", *(_seed_value(f, res.search) for f in res.fields)))
    return (
        f"INSERT INTO {res.table} ({cols}, created_at) "
        f"SELECT {values}, now() - g * interval '1 second' FROM generate_series(1, $1::int) g ON CONFLICT DO NOTHING"
    )


async def ensure_schema(conn: Any, config: StandinConfig) -> int:
    """Create tables, seed once, create the runbook's index unless slow queries are wanted.

    Returns:
        The number of rows seeded by this call (0 when another replica or an earlier start did it).
    """
    profile = config.profile
    res = profile.resource
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        for statement in table_ddl(profile):
            await conn.execute(statement)
        seeded = 0
        marker = f"seeded:{res.slow_table}"
        done = await conn.fetchval("SELECT value FROM standin_meta WHERE key = $1", marker)
        if done is None and config.seed_rows > 0:
            if res.child is not None and res.slow_table == res.child.table:
                # Messages need their rooms: a hundred seeded parents to hang them on.
                await conn.execute(
                    f"INSERT INTO {res.table} (id) SELECT 'seed-' || g FROM generate_series(1, 100) g"
                    " ON CONFLICT DO NOTHING"
                )
            await conn.execute(seed_sql(profile), config.seed_rows, timeout=SEED_TIMEOUT_S)
            await conn.execute("INSERT INTO standin_meta (key, value) VALUES ($1, $2)", marker, str(config.seed_rows))
            seeded = config.seed_rows
        if not config.slow_queries:
            await conn.execute(res.index_sql, timeout=SEED_TIMEOUT_S)
    await conn.execute(f"ANALYZE {res.slow_table}", timeout=SEED_TIMEOUT_S)
    return seeded
