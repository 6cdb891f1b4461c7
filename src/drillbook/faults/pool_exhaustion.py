"""``pool-exhaustion``: a process outside the application holds PostgreSQL's connections: a stuck batch job.

(A leak *inside* the application, which a restart releases, is the ``connection-leak`` fault.)

Modes (parameter ``mode``):

* ``idle`` (default) — a hog process opens connections until PostgreSQL refuses more ("sorry, too many
  clients already") and leaves them idle.
* ``active`` — the same, but each connection runs a long ``pg_sleep``: a stuck batch job.

Once the slots are taken, the application's own connections are dropped (parameter ``kick``, default
``yes``), as a database restart or failover would, again and again through the job's eager window: its pool
reconnects and races the job, and the drops end that race with the job holding the slots, every run.

The job keeps its slots: for ``eager_s`` seconds (default 3) after the failover its workers reconnect as fast as
the application does; after that it retakes freed slots at ``refill_per_s`` (default 1 a second), so terminating
its backends gives the application its connections back for a while. It survives an application restart, as a
separate job would. It logs in as the application's own user
(parameter ``role``, default ``app``: a leak in the application's code), or as a separate non-superuser role
(``role=leaky_worker``, created through the admin DSN: a leaking batch job; PostgreSQL's reserved superuser
slots then stay free for an operator with superuser rights).

Revert: end the hog's process group and terminate any backend still carrying its application name.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from drillbook.errors import FaultInjectionError
from drillbook.faults._helpers import start_helper, stop_helper
from drillbook.faults.base import Fault, JsonValue, RevertRecord, register
from drillbook.faults.params import Param

_HOG = "drillbook.faults._hog"
_PASSWORD = "drillbook-leaky-worker"


@register
class PoolExhaustion(Fault):
    """Take every free PostgreSQL connection slot and hold it."""

    name: ClassVar[str] = "pool-exhaustion"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate", "latency_p95")
    summary: ClassVar[str] = "a job outside the app holds PostgreSQL at max_connections (mode idle|active)"
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(
            "mode",
            "str",
            "idle holds idle connections; active runs a long query on each",
            "idle",
            choices=("idle", "active"),
        ),
        Param("role", "str", "the login role of the job (app: the application's own user)", "app"),
        Param("hold_s", "int", "a hard bound on how long the job holds its connections", 900, unit="s", min=1),
        Param(
            "eager_s", "float", "how long after the failover the job reconnects as fast as the app", 3, unit="s", min=0
        ),
        Param(
            "refill_per_s",
            "float",
            "how fast the job retakes freed slots after that",
            1,
            unit="slots/s",
            min=0,
            min_exclusive=True,
        ),
        Param("kick", "str", "drop the app's connections once the job holds the slots", "yes", choices=("yes", "no")),
    )

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
        mode = self.text("mode")  # idle or active: the schema refused anything else
        role = self.text("role")
        admin = self.target.postgres_admin_dsn
        if role != "app" and admin is not None:
            dsn = asyncio.run(_ensure_role(admin, role))
        args = ["--dsn", dsn, "--mode", mode, "--hold-s", str(self.integer("hold_s"))]
        for key in ("eager_s", "refill_per_s"):  # numbers in range: the schema checked
            args += [f"--{key.replace('_', '-')}", str(self.number(key))]
        app_user = urlsplit(self.target.postgres_dsn or "").username
        kick = self.text("kick") == "yes" and app_user is not None and admin is not None
        self.held = self._start_hog(args, admin if kick else None, app_user or "")

    def _start_hog(self, args: list[str], admin_dsn: str | None, app_user: str) -> int:
        # The hog is started from this (main) thread: it dies with the thread that started it (PDEATHSIG).
        # The admin connection is opened first so it still has a slot once the hog has taken the rest.
        loop = asyncio.new_event_loop()
        try:
            admin = loop.run_until_complete(asyncpg.connect(admin_dsn, timeout=10)) if admin_dsn else None
            try:
                ready = start_helper(_HOG, args, pidfile=self._pidfile, marker=self._marker, ready_timeout_s=60.0)
                held = ready.get("held")
                if not isinstance(held, int) or held == 0:
                    refused = ready.get("refused")
                    raise FaultInjectionError(f"pool-exhaustion: the hog could not open any connection ({refused})")
                if admin is not None:
                    loop.run_until_complete(self._kick(admin, app_user, self.number("eager_s")))
                return held
            finally:
                if admin is not None:
                    loop.run_until_complete(admin.close())
        finally:
            loop.close()

    async def _kick(self, admin: Any, app_user: str, eager_s: float) -> None:
        """Drop the application's connections, as a database restart or failover would, until the job has won.

        The application's pool reconnects at once and races the job's reconnect storm for the freed slots; whoever
        wins a slot keeps it. Repeating the drop through the job's eager window makes the end state the one this
        fault stands for (the job holds every slot it can), not the outcome of a race that varied run to run.
        """
        loop = asyncio.get_running_loop()
        # Stop while the job is still eager, so the last freed slots go to it too.
        until = loop.time() + max(eager_s - 1.0, 0.5)
        quiet = 0
        while quiet < 2 and loop.time() < until:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = $1 AND application_name <> $2 AND pid <> pg_backend_pid()",
                app_user,
                self._marker,
            )
            await asyncio.sleep(0.1)
            left = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND application_name <> $2"
                " AND pid <> pg_backend_pid()",
                app_user,
                self._marker,
            )
            quiet = quiet + 1 if left == 0 else 0

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
