"""A throwaway PostgreSQL 15 server: copied from a cached template, configured per instance, reaped always."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from drillbook.errors import DatastoreError
from drillbook.platform.local.datastores._host import (
    MAX_SOCKET_DIR_LEN,
    Account,
    free_port,
    log_tail,
    postgres_account,
    reachable_by,
    reap_group,
    runtime_root,
)
from drillbook.platform.local.datastores.homes import CREATOR_FILE, OWNER_FILE, collect_orphans
from drillbook.platform.local.datastores.template import PG_BIN, copy_template, ensure_template, pg_hba
from drillbook.processes import die_with_parent

#: Marks a data directory whose roles, database and extensions were created.
SETUP_MARKER = "drillbook-setup-done"
#: The file our per-start settings go to; postgresql.conf includes it, ALTER SYSTEM still overrides it.
CONF_NAME = "drillbook.conf"
PG_LIB = Path("/usr/lib/postgresql/15/lib")
PG_SHARE = Path("/usr/share/postgresql/15")


@dataclass(frozen=True)
class PostgresConfig:
    """What the application sees: its role, database, limits and extensions."""

    user: str = "app"
    password: str = "app"
    database: str = "app"
    #: Server-wide connection limit; the drill for "too many connections" lowers it.
    max_connections: int = 100
    #: Loaded via shared_preload_libraries when they have a library, then CREATE EXTENSION in the database.
    extensions: tuple[str, ...] = ("pg_stat_statements",)
    #: Extra postgresql.conf settings (name → value as written in the file, unquoted).
    settings: Mapping[str, str] = field(default_factory=dict)
    #: The official postgres image makes POSTGRES_USER a superuser; runbooks assume they may terminate backends.
    superuser: bool = True
    #: A non-superuser login role for the application, owner of ``database`` (None: ``user`` owns it). As on a
    #: real server it counts against ``max_connections`` minus ``superuser_reserved_connections``, so an
    #: application that exhausts its slots still leaves the reserved ones to an operator logging in as ``user``.
    app_user: str | None = None
    app_password: str = ""
    #: pg_hba method for TCP clients: "scram-sha-256", "md5", or "trust" (POSTGRES_HOST_AUTH_METHOD=trust).
    host_auth: Literal["scram-sha-256", "md5", "trust"] = "scram-sha-256"
    #: Seconds to wait for the server to accept a real connection.
    start_timeout: float = 30.0


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _conf_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class PostgresInstance:
    """One PostgreSQL server on ``host:port`` with data under ``base_dir``.

    Use as a context manager, or call ``start()`` and ``stop()``. ``kill()`` crashes it (SIGKILL to every
    process); ``start()`` after ``stop()`` or ``kill()`` reuses the data (crash recovery included).
    """

    def __init__(
        self,
        config: PostgresConfig = PostgresConfig(),
        *,
        base_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | None = None,
        log_file: Path | None = None,
        inherit_output: bool = False,
        server_args: Sequence[str] = (),
        supervised: bool = False,
        template: Path | None = None,
    ) -> None:
        """Describe an instance; nothing starts until ``start()``.

        Args:
            config: role, database, limits and extensions.
            base_dir: directory this instance owns (data, sockets, log); created if missing.
            host: loopback address to listen on.
            port: TCP port; 0 picks a free one at the first start and keeps it for restarts.
            data_dir: where PGDATA lives (default ``base_dir/data``); reused when it already holds a cluster.
            log_file: server log (default ``base_dir/postgres.log``).
            inherit_output: write the server log to this process's stdout/stderr instead (entrypoints).
            server_args: extra ``postgres`` arguments such as ``-c max_connections=50`` (they beat every file).
            supervised: stay in the caller's process group (entrypoints, whose supervisor kills the group);
                otherwise the server gets its own session. Either way it dies with the thread that started it.
            template: data directory to copy when ``data_dir`` is new (default: the empty, initdb'd template); a
                provisioned system's snapshot (``snapshot.py``) makes the copy start with its schema and rows.
        """
        self.config = config
        self.base_dir = Path(base_dir)
        self.host = host
        self.port = port
        self.data_path = Path(data_dir) if data_dir is not None else self.base_dir / "data"
        self.log_file = None if inherit_output else (log_file or self.base_dir / "postgres.log")
        self.server_args = tuple(server_args)
        self.supervised = supervised
        self.template = template
        #: A port we picked ourselves may be taken by a racing process before the server binds it: retry then.
        self._port_is_ours = port == 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._owned_dirs: list[Path] = []
        self._socket_dir: Path | None = None
        self._socket_tmp: Path | None = None

    @property
    def dsn(self) -> str:
        """``postgresql://user:password@host:port/database``."""
        c = self.config
        return f"postgresql://{c.user}:{c.password}@{self.host}:{self.port}/{c.database}"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The postmaster process handle (None before the first start)."""
        return self._proc

    @property
    def socket_dir(self) -> Path | None:
        """Directory of the Unix socket (the superuser ``postgres`` may connect there without a password)."""
        return self._socket_dir

    def env(self) -> dict[str, str]:
        """libpq environment for psql and friends: PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE."""
        c = self.config
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": c.user,
            "PGPASSWORD": c.password,
            "PGDATABASE": c.database,
        }

    def __enter__(self) -> PostgresInstance:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> PostgresInstance:
        """Start the server (a no-op when running) and return once a real connection succeeds."""
        if self.pid is not None:
            return self
        account = postgres_account()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        attempts = 3 if self._port_is_ours else 1
        for attempt in range(1, attempts + 1):
            if self._port_is_ours:
                self.port = free_port(self.host)
            data = self._prepare_data(account)
            self._socket_dir = self._prepare_socket_dir(data, account)
            self._write_settings(data, account)
            self._spawn(data, account)
            try:
                self._wait_ready(data)
            except DatastoreError:
                self.kill()
                if attempt < attempts and "could not bind" in log_tail(self.log_file, 40):
                    continue
                raise
            except BaseException:
                self.kill()
                raise
            break
        self._port_is_ours = False  # restarts keep the port clients were given
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back clients, checkpoint), then reap every process of the server."""
        if self._proc is not None:
            reap_group(self._proc, first_signal=signal.SIGINT, grace=15.0)
        if self._socket_tmp is not None:
            shutil.rmtree(self._socket_tmp, ignore_errors=True)
            self._socket_tmp = None

    def kill(self) -> None:
        """Crash the server: SIGKILL to the postmaster and every backend at once."""
        if self._proc is not None:
            reap_group(self._proc, first_signal=None, grace=0.0)

    def close(self) -> None:
        """Stop, and remove directories this instance made outside ``base_dir`` (data there is gone then)."""
        self.stop()
        if self._owned_dirs and self.data_path.is_symlink():
            self.data_path.unlink()
        for path in self._owned_dirs:
            shutil.rmtree(path, ignore_errors=True)
        self._owned_dirs.clear()

    def _prepare_data(self, account: Account) -> Path:
        path = self.data_path
        if path.is_symlink() and not path.exists():
            path.unlink()  # its home was collected (close() or collect_orphans()): start afresh
        if path.is_symlink() or path.exists():
            real = path.resolve()
            if not (real / "PG_VERSION").exists():
                raise DatastoreError(
                    f"expected {path} to be empty or a PostgreSQL data directory, found neither. "
                    "Hint: point PGDATA/base_dir at an empty or fresh directory."
                )
            return real
        template = self.template if self.template is not None else ensure_template()
        path.parent.mkdir(parents=True, exist_ok=True)
        if reachable_by(path.parent, account):
            copy_template(template, path, account)
            return path
        # The caller's directory is private to root (pytest's tmp_path is): keep the data in a dir the
        # postgres user can reach and leave a symlink where the caller looks for it.
        collect_orphans()
        home = Path(tempfile.mkdtemp(prefix="pg-", dir=runtime_root()))
        self._owned_dirs.append(home)
        # Link first, then name the owner: collect_orphans() only removes homes whose owner link is gone.
        path.symlink_to(home / "data")
        (home / OWNER_FILE).write_text(str(path.absolute()))
        os.chown(home, account.uid, account.gid)
        copy_template(template, home / "data", account)
        return home / "data"

    def _prepare_socket_dir(self, data: Path, account: Account) -> Path:
        if self._socket_tmp is not None:  # from a failed attempt or an earlier start
            shutil.rmtree(self._socket_tmp, ignore_errors=True)
            self._socket_tmp = None
        natural = data.parent / "run"
        if len(str(natural)) <= MAX_SOCKET_DIR_LEN and reachable_by(data.parent, account):
            natural.mkdir(exist_ok=True)
            os.chown(natural, account.uid, account.gid)
            natural.chmod(0o700)
            return natural
        collect_orphans()
        short = Path(tempfile.mkdtemp(prefix="pgsock-", dir=runtime_root()))
        (short / CREATOR_FILE).write_text(f"{os.getpid()}\n")
        self._socket_tmp = short
        os.chown(short, account.uid, account.gid)
        return short

    def _write_settings(self, data: Path, account: Account) -> None:
        c = self.config
        preload = [e for e in c.extensions if (PG_LIB / f"{e}.so").exists()]
        settings: dict[str, str] = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self._socket_dir),
            "max_connections": str(c.max_connections),
            # PostgreSQL refuses to start unless the reserved superuser slots leave room for others.
            "superuser_reserved_connections": str(min(3, max(c.max_connections - 1, 0))),
            "shared_preload_libraries": ",".join(preload),
            # A throwaway copy: durability against power loss buys nothing and costs start and bench time.
            # synchronous_commit stays on: a SIGKILL "crash" must not lose committed rows.
            "fsync": "off",
            "full_page_writes": "off",
            "logging_collector": "off",
            "log_line_prefix": "%m [%p] ",
        }
        settings.update(c.settings)
        lines = ["# drillbook: rewritten at every start; ALTER SYSTEM (postgresql.auto.conf) overrides it"]
        lines += [f"{name} = {_conf_value(value)}" for name, value in settings.items()]
        hba = data / "pg_hba.conf"
        hba.write_text(pg_hba(c.host_auth))
        os.chown(hba, account.uid, account.gid)
        conf = data / CONF_NAME
        conf.write_text("\n".join(lines) + "\n")
        os.chown(conf, account.uid, account.gid)
        main_conf = data / "postgresql.conf"
        include = f"include_if_exists = '{CONF_NAME}'"
        if include not in main_conf.read_text():
            with main_conf.open("a") as fh:
                fh.write(f"\n{include}\n")

    def _spawn(self, data: Path, account: Account) -> None:
        out: IO[bytes] | None = None
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            out = self.log_file.open("ab")
        try:
            self._proc = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(data), *self.server_args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                cwd=str(data),
                user=account.uid,
                group=account.gid,
                extra_groups=[],
                start_new_session=not self.supervised,
                # Runs after the uid change, which would clear it: the server dies with the thread that started
                # it, also when that process is SIGKILLed (its backends notice the postmaster's death and exit).
                preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "PGTZ": "UTC"},
            )
        finally:
            if out is not None:
                out.close()

    def _psql(self, sql: str, *, tcp: bool, database: str) -> subprocess.CompletedProcess[str]:
        c = self.config
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGCONNECT_TIMEOUT": "2"}
        if tcp:
            args = ["-h", self.host, "-U", c.user]
            env["PGPASSWORD"] = c.password
        else:
            args = ["-h", str(self._socket_dir), "-U", "postgres"]
        cmd = [str(PG_BIN / "psql"), *args, "-p", str(self.port), "-d", database, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        return subprocess.run([*cmd, "-f", "-"], input=sql, check=False, capture_output=True, text=True, env=env)

    def _wait_ready(self, data: Path) -> None:
        deadline = time.monotonic() + self.config.start_timeout
        self._poll_until(deadline, lambda: self._psql("SELECT 1", tcp=False, database="postgres"), "the Unix socket")
        if not (data / SETUP_MARKER).exists():
            result = self._psql(self._setup_sql(), tcp=False, database="postgres")
            if result.returncode != 0:
                raise self._error(f"expected the setup SQL to succeed, psql said: {result.stderr.strip()}")
            (data / SETUP_MARKER).write_text("roles, database and extensions created\n")
        self._poll_until(
            deadline, lambda: self._psql("SELECT 1", tcp=True, database=self.config.database), f"{self.host}"
        )

    def _poll_until(self, deadline: float, attempt: Callable[[], subprocess.CompletedProcess[str]], where: str) -> None:
        last = ""
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise self._error(f"expected PostgreSQL to keep running, it exited with {self._proc.returncode}")
            result = attempt()
            if result.returncode == 0:
                return
            last = result.stderr.strip()
            if time.monotonic() > deadline:
                raise self._error(
                    f"expected a connection over {where} within {self.config.start_timeout:.0f}s, last error: {last}"
                )
            time.sleep(0.03)

    def _setup_sql(self) -> str:
        c = self.config
        power = "SUPERUSER" if c.superuser else "NOSUPERUSER"
        password = f" PASSWORD {_literal(c.password)}" if c.password else ""  # none: trust-only setups
        if c.user == "postgres":
            sql = [f"ALTER ROLE postgres{password};"]
        else:
            sql = [f"CREATE ROLE {_ident(c.user)} LOGIN {power}{password};"]
        owner = c.user
        if c.app_user and c.app_user != c.user:
            app_password = f" PASSWORD {_literal(c.app_password)}" if c.app_password else ""
            sql.append(f"CREATE ROLE {_ident(c.app_user)} LOGIN NOSUPERUSER{app_password};")
            owner = c.app_user
        if c.database != "postgres":
            # FILE_COPY copies template1's files; the default WAL_LOG would write all of them to WAL first.
            sql.append(f"CREATE DATABASE {_ident(c.database)} OWNER {_ident(owner)} STRATEGY FILE_COPY;")
        elif owner != c.user:
            sql.append(f"ALTER DATABASE postgres OWNER TO {_ident(owner)};")
        sql.append(f"\\connect {_ident(c.database)}")
        for ext in c.extensions:
            if (PG_SHARE / "extension" / f"{ext}.control").exists():
                sql.append(f"CREATE EXTENSION IF NOT EXISTS {_ident(ext)};")
        return "\n".join(sql) + "\n"

    def _error(self, what: str) -> DatastoreError:
        where = self.log_file or "this process's output"
        return DatastoreError(
            f"PostgreSQL on {self.host}:{self.port}: {what}.\nLast lines of {where}:\n{log_tail(self.log_file)}\n"
            "Hint: a port clash or a bad setting in PostgresConfig.settings is the usual cause; "
            "the full server log is in the file named above."
        )
