"""Stand-in for the official ``postgres:15`` image (``python -m <this module>``).

Reads POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB, optional POSTGRES_HOST_AUTH_METHOD (scram-sha-256, md5,
trust), POSTGRES_MAX_CONNECTIONS, POSTGRES_NON_ROOT_USER/POSTGRES_NON_ROOT_PASSWORD and DRILLBOOK_PG_SETTINGS
(``name=value`` pairs separated by ``;`` or newlines), keeps data in ``$PGDATA`` (default ``./pgdata``; reused when
present, so a restarted pod keeps its data) and listens on ``$POD_IP:$PGPORT`` (default 127.0.0.1:5432). A new
``$PGDATA`` starts from the run's snapshot of the system when ``DRILLBOOK_PG_SNAPSHOTS`` offers one (``snapshot.py``),
else from the empty template.
Runs in the foreground: SIGTERM or SIGINT → fast shutdown; exits with the server's exit code.

POSTGRES_USER is a superuser, as in the official image. POSTGRES_NON_ROOT_USER stands in for the init script teams
mount into ``/docker-entrypoint-initdb.d`` to give the application its own role (the widespread ``init-data.sh``
convention of that name): a login role without superuser rights that owns POSTGRES_DB. localkube mounts no volumes,
so the variables alone say what the script would do.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Literal

from drillbook.errors import DatastoreError, UsageError
from drillbook.platform.local.datastores.postgres import PostgresConfig, PostgresInstance
from drillbook.platform.local.datastores.snapshot import claim_snapshot

AUTH_METHODS: dict[str, Literal["scram-sha-256", "md5", "trust"]] = {
    "scram-sha-256": "scram-sha-256",
    "md5": "md5",
    "trust": "trust",
}


def parse_settings(text: str) -> dict[str, str]:
    """Parse ``name=value`` pairs separated by ``;`` or newlines."""
    settings: dict[str, str] = {}
    for raw in text.replace(";", "\n").splitlines():
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(
                f"DRILLBOOK_PG_SETTINGS: expected name=value pairs separated by ';', got {item!r}. "
                "Hint: e.g. DRILLBOOK_PG_SETTINGS='work_mem=8MB;log_min_duration_statement=100'."
            )
        settings[name.strip()] = value.strip()
    return settings


def instance_from_env(env: Mapping[str, str], cwd: Path, extra: Sequence[str] = ()) -> PostgresInstance:
    """Build the instance the official image would run for this environment."""
    user = env.get("POSTGRES_USER") or "postgres"
    max_conn = env.get("POSTGRES_MAX_CONNECTIONS", "100")
    if not max_conn.isdigit():
        raise UsageError(f"POSTGRES_MAX_CONNECTIONS: expected a positive integer, got {max_conn!r}.")
    password = env.get("POSTGRES_PASSWORD") or ""
    raw_auth = env.get("POSTGRES_HOST_AUTH_METHOD") or "scram-sha-256"
    auth = AUTH_METHODS.get(raw_auth)
    if auth is None:
        raise UsageError(f"POSTGRES_HOST_AUTH_METHOD: expected scram-sha-256, md5 or trust, got {raw_auth!r}.")
    if not password and auth != "trust":
        raise UsageError(
            "POSTGRES_PASSWORD: expected a password, found none (the official image refuses to start too). "
            "Hint: set POSTGRES_PASSWORD in the pod spec, or POSTGRES_HOST_AUTH_METHOD=trust."
        )
    app_user = env.get("POSTGRES_NON_ROOT_USER") or None
    app_password = env.get("POSTGRES_NON_ROOT_PASSWORD") or ""
    if app_user is not None and not app_password and auth != "trust":
        raise UsageError(
            "POSTGRES_NON_ROOT_PASSWORD: expected a password for POSTGRES_NON_ROOT_USER, found none. "
            "Hint: set it from the same Secret the application reads its database password from."
        )
    config = PostgresConfig(
        user=user,
        password=password,
        app_user=app_user,
        app_password=app_password,
        host_auth=auth,
        database=env.get("POSTGRES_DB") or user,
        max_connections=int(max_conn),
        settings=parse_settings(env.get("DRILLBOOK_PG_SETTINGS", "")),
    )
    port = env.get("PGPORT", "5432")
    data = Path(env.get("PGDATA") or "pgdata")
    data = data if data.is_absolute() else cwd / data
    return PostgresInstance(
        config,
        base_dir=data.parent,
        host=env.get("POD_IP") or "127.0.0.1",
        port=int(port),
        data_dir=data,
        inherit_output=True,
        supervised=True,
        # The image runs `postgres [args]`; pod specs often say args: ["postgres", "-c", "max_connections=50"].
        server_args=list(extra[1:] if extra and extra[0] == "postgres" else extra),
        # A new data directory starts from the run's snapshot of this system, when its sandbox offers one.
        template=None if data.exists() or data.is_symlink() else claim_snapshot(env),
    )


def main() -> int:
    """Run PostgreSQL in the foreground until it exits or a signal stops it."""
    try:
        instance = instance_from_env(os.environ, Path.cwd(), sys.argv[1:])
        stopping = False

        def fast_shutdown(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            proc = instance.process
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)

        signal.signal(signal.SIGTERM, fast_shutdown)
        signal.signal(signal.SIGINT, fast_shutdown)
        instance.start()
        print(f"drillbook: PostgreSQL ready on {instance.host}:{instance.port}", flush=True)
        proc = instance.process
        assert proc is not None
        code = proc.wait()
        instance.stop()  # reap backends the postmaster may have left behind
        return 0 if stopping and code == 0 else code
    except (DatastoreError, UsageError) as exc:
        print(f"postgres entrypoint: error: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
