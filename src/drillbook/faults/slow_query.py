"""``slow-query``: an index the app's hot query needs is dropped, so the query scans the table.

Parameter ``index`` names the index (default ``idx_votes_poll_id``). The index definition is read from
``pg_indexes`` and journaled before the drop; the revert recreates it if it is still missing (an
operator following the runbook may already have created it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import ClassVar

import asyncpg

from drillbook.errors import FaultInjectionError
from drillbook.faults.base import Fault, JsonValue, RevertRecord, register
from drillbook.faults.params import Param


@register
class SlowQuery(Fault):
    """Drop an index."""

    name: ClassVar[str] = "slow-query"
    symptoms: ClassVar[tuple[str, ...]] = ("latency_p95",)
    summary: ClassVar[str] = "drop the index the app's hot query needs (index)"
    parameters: ClassVar[tuple[Param, ...]] = (
        Param("index", "str", "the index dropped (it must exist)", "idx_votes_poll_id"),
    )

    def revert_record(self) -> RevertRecord:
        dsn = self.require(self.target.postgres_admin_dsn, "a PostgreSQL admin DSN")
        index = self.text("index")
        definition = asyncio.run(_fetch(dsn, "SELECT indexdef FROM pg_indexes WHERE indexname = $1", index))
        if not isinstance(definition, str):
            raise FaultInjectionError(f"slow-query: no index named {index!r} exists to drop")
        spec: dict[str, JsonValue] = {"dsn": dsn, "index": index, "definition": definition}
        return RevertRecord(self.name, f"recreate index {index}", spec)

    def apply(self) -> None:
        record = self._record
        assert record is not None
        asyncio.run(_execute(str(record.spec["dsn"]), f'DROP INDEX IF EXISTS "{record.spec["index"]}"'))

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        dsn, index, definition = spec.get("dsn"), spec.get("index"), spec.get("definition")
        if isinstance(dsn, str) and isinstance(index, str) and isinstance(definition, str):
            exists = asyncio.run(_fetch(dsn, "SELECT 1 FROM pg_indexes WHERE indexname = $1", index))
            if exists is None:
                asyncio.run(_execute(dsn, definition))


async def _fetch(dsn: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def _execute(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
