"""Real local servers for the stand-in's tests: PostgreSQL 15, Redis, and stand-in replicas as subprocesses.

Every process started here is reaped at teardown, also when a test fails.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drillbook.platform.local.datastores import PostgresConfig, PostgresInstance, RedisConfig, RedisInstance

LOOPBACK = "127.0.0.1"
# Stand-ins bind their own loopback address, as localkube pods do; one /24 per test process.
_STANDIN_NET = f"127.0.{60 + os.getpid() % 60}"
_host_counter = itertools.count(10)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _terminate(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_port(host: str, port: int, proc: subprocess.Popen[Any], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening on {host}:{port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {host}:{port} within {timeout}s")


@dataclass
class Postgres:
    """The session's PostgreSQL (engineer D's ``PostgresInstance``); ``dsn(db)`` for a database on it."""

    instance: PostgresInstance

    @property
    def host(self) -> str:
        return self.instance.host

    @property
    def port(self) -> int:
        return self.instance.port

    def dsn(self, database: str, user: str = "app", password: str = "app") -> str:
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> str:
        cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", self.dsn(database), "-c", sql]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30).stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql("postgres", f"CREATE DATABASE {name}")
        return name


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """One PostgreSQL 15 for the session, superuser ``app`` (databases per test keep tests apart)."""
    config = PostgresConfig(user="app", password="app", database="postgres", extensions=())
    with PostgresInstance(config, base_dir=tmp_path_factory.mktemp("standin-pg")) as instance:
        yield Postgres(instance)


@dataclass
class Redis:
    """A Redis (engineer D's ``RedisInstance``) that a test can stop and start again on the same port."""

    instance: RedisInstance

    @property
    def host(self) -> str:
        return self.instance.host

    @property
    def port(self) -> int:
        return self.instance.port

    @property
    def url(self) -> str:
        return self.instance.url

    def start(self) -> None:
        self.instance.start()

    def stop(self) -> None:
        self.instance.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    """A running Redis, stopped at teardown."""
    with RedisInstance(RedisConfig(), base_dir=tmp_path / "redis") as instance:
        yield Redis(instance)


@dataclass
class Standin:
    """One stand-in replica running as a subprocess."""

    host: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    _log_file: Any = field(repr=False)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        body: Any = None,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Status and body text of one HTTP request (errors are returned, not raised)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def json(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, text = self.request(path, **kwargs)
        return status, json.loads(text)

    def logs(self) -> list[dict[str, Any]]:
        """Every JSON line logged so far."""
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what}; log tail: {self.log_path.read_text()[-2000:]}"
        )

    def stop(self) -> int:
        _terminate(self.proc)
        self._log_file.close()
        return int(self.proc.returncode)


StandinFactory = Callable[..., Standin]


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandinFactory]:
    """Start stand-in replicas: ``standin("azora", {"DATABASE_URL": …}, wait=True)``; all reaped at teardown."""
    started: list[Standin] = []

    def start(profile: str, env: dict[str, str], *, wait: bool = True) -> Standin:
        host = f"{_STANDIN_NET}.{next(_host_counter)}"
        port = free_port(host)
        n = len(started)
        log_path = tmp_path / f"standin-{n}.log"
        log_file = open(log_path, "wb")  # noqa: SIM115 - closed by Standin.stop
        full_env = {"PATH": os.environ["PATH"], "POD_IP": host, "PORT": str(port), "STANDIN_HEALTH_INTERVAL_S": "0.2"}
        full_env.update(env)
        proc = subprocess.Popen(
            [sys.executable, "-m", "drillbook.standin", "--profile", profile],
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        replica = Standin(host, port, proc, log_path, log_file)
        started.append(replica)
        if wait:
            _wait_port(host, port, proc, f"stand-in {profile}")
        return replica

    try:
        yield start
    finally:
        for replica in started:
            if replica.proc.poll() is None or not replica._log_file.closed:
                replica.stop()


_db_counter = itertools.count(1)


@pytest.fixture
def database(postgres: Postgres) -> str:
    """A fresh database on the session's PostgreSQL; returns its DSN."""
    name = postgres.create_database(f"standin_{os.getpid()}_{next(_db_counter)}")
    return postgres.dsn(name)
