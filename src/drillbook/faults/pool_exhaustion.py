"""``pool-exhaustion``: PostgreSQL runs out of connections.

Modes (parameter ``mode``):

* ``idle`` (default) — a hog process opens connections until PostgreSQL refuses more ("sorry, too many
  clients already") and leaves them idle, like a leaking client.
* ``active`` — the same, but each connection runs a long ``pg_sleep``: a stuck batch job.

The hog logs in as its own non-superuser role (parameter ``role``, default ``leaky_worker``, created through
the admin DSN), the way a leaking batch worker would: PostgreSQL's reserved superuser slots stay free, so an
operator with superuser rights can still get in and act. ``role=app`` hogs as the application's own user.

Revert: end the hog's process group and terminate any backend still carrying its application name.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from drillbook.errors import FaultInjectionError
from drillbook.faults._helpers import start_helper, stop_helper
from drillbook.faults.base import Fault, JsonValue, RevertRecord, register

_HOG = "drillbook.faults._hog"
_PASSWORD = "drillbook-leaky-worker"


@register
class PoolExhaustion(Fault):
    """Take every free PostgreSQL connection slot and hold it."""

    name: ClassVar[str] = "pool-exhaustion"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate", "latency_p95")
    summary: ClassVar[str] = "a connection hog takes PostgreSQL to max_connections (mode idle|active)"

    def revert_record(self) -> RevertRecord:
        self._marker = f"drillbook-hog-{uuid.uuid4().hex[:8]}"
        self._pidfile = self.target.workdir / "faults" / f"{self._marker}.pid"
        return RevertRecord(
            self.name,
            "stop the connection hog and terminate its backends",
            {
                "pidfile": str(self._pidfile),
                "marker": self._marker,
                "admin_dsn": self.target.postgres_admin_dsn or self.target.postgres_dsn,
            },
        )

    def apply(self) -> None:
        dsn = self.require(self.target.postgres_dsn, "a PostgreSQL DSN for the application's user")
        role = self.param("role", "leaky_worker")
        admin = self.target.postgres_admin_dsn
        if role != "app" and admin is not None:
            dsn = asyncio.run(_ensure_role(admin, role))
        mode = self.param("mode", "idle")
        if mode not in {"idle", "active"}:
            raise FaultInjectionError(f"pool-exhaustion: mode must be 'idle' or 'active', got {mode!r}")
        ready = start_helper(
            _HOG,
            ["--dsn", dsn, "--mode", mode, "--hold-s", str(self.int_param("hold_s", 900))],
            pidfile=self._pidfile,
            marker=self._marker,
            ready_timeout_s=60.0,
        )
        held = ready.get("held")
        if not isinstance(held, int) or held == 0:
            raise FaultInjectionError(
                f"pool-exhaustion: the hog could not open any connection ({ready.get('refused')})"
            )
        self.held = held

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        pidfile, marker, admin_dsn = spec.get("pidfile"), spec.get("marker"), spec.get("admin_dsn")
        if isinstance(pidfile, str) and isinstance(marker, str):
            stop_helper(Path(pidfile), marker)
            if isinstance(admin_dsn, str):
                asyncio.run(_terminate_backends(admin_dsn, marker))


async def _ensure_role(admin_dsn: str, role: str) -> str:
    """Create the hog's login role if needed; return a DSN that logs in as it."""
    conn = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        quoted = '"' + role.replace('"', '""') + '"'
        if not exists:
            await conn.execute(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER PASSWORD '{_PASSWORD}'")
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {quoted}')
    finally:
        await conn.close()
    parts = urlsplit(admin_dsn)
    netloc = f"{role}:{_PASSWORD}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def _terminate_backends(dsn: str, application_name: str) -> None:
    # The hog's own exit closes its sockets; this catches backends left behind by a SIGKILLed hog.
    with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                application_name,
            )
        finally:
            await conn.close()
