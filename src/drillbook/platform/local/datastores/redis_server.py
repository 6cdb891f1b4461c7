"""A throwaway Redis server: no persistence, optional memory limit and password, reaped always."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from drillbook.errors import DatastoreError
from drillbook.platform.local.datastores._host import free_port, log_tail, reap_group
from drillbook.processes import die_with_parent


@dataclass(frozen=True)
class RedisConfig:
    """Memory limit, eviction policy and password of a Redis server."""

    #: Like redis.conf's ``maxmemory`` ("64mb"); None means no limit.
    maxmemory: str | None = None
    #: What happens at the limit; "noeviction" makes writes fail with OOM, as in the runbooks' incidents.
    maxmemory_policy: str = "noeviction"
    #: ``requirepass``; None means no AUTH.
    password: str | None = None
    #: Seconds to wait for PING to answer.
    start_timeout: float = 15.0


def redis_server_args(config: RedisConfig, host: str, port: int, directory: Path) -> list[str]:
    """Command line of a foreground, non-persistent ``redis-server``."""
    binary = shutil.which("redis-server") or "redis-server"
    args = [binary, "--bind", host, "--port", str(port), "--save", "", "--appendonly", "no"]
    args += ["--daemonize", "no", "--dir", str(directory), "--maxmemory-policy", config.maxmemory_policy]
    if config.maxmemory is not None:
        args += ["--maxmemory", config.maxmemory]
    if config.password is not None:
        args += ["--requirepass", config.password]
    return args


def ping(host: str, port: int, password: str | None, timeout: float = 1.0) -> str:
    """Send PING (after AUTH when a password is set) and return the reply line, e.g. ``+PONG``."""
    request = b""
    if password is not None:
        encoded = password.encode()
        request += b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(encoded), encoded)
    request += b"*1\r\n$4\r\nPING\r\n"
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        expected = 2 if password is not None else 1
        while data.count(b"\r\n") < expected:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace").strip().splitlines()[-1] if data else ""


class RedisInstance:
    """One ``redis-server`` on ``host:port``; context manager, ``start()``/``stop()``/``kill()``."""

    def __init__(
        self,
        config: RedisConfig = RedisConfig(),
        *,
        base_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        inherit_output: bool = False,
    ) -> None:
        """Describe an instance; nothing starts until ``start()``.

        Args:
            config: memory limit, policy and password.
            base_dir: working directory and log (``redis.log``); created if missing.
            host: loopback address to bind.
            port: TCP port; 0 picks a free one at the first start and keeps it for restarts.
            inherit_output: log to this process's stdout instead of ``base_dir/redis.log``.
        """
        self.config = config
        self.base_dir = Path(base_dir)
        self.host = host
        self.port = port
        self.log_file = None if inherit_output else self.base_dir / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None
        #: A port we picked ourselves may be taken by a racing process before the server binds it: retry then.
        self._port_is_ours = port == 0

    @property
    def url(self) -> str:
        """``redis://[:password@]host:port/0``."""
        auth = f":{self.config.password}@" if self.config.password is not None else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The server process handle (None before the first start)."""
        return self._proc

    def env(self) -> dict[str, str]:
        """REDIS_URL, REDIS_HOST, REDIS_PORT (and REDIS_PASSWORD when set)."""
        env = {"REDIS_URL": self.url, "REDIS_HOST": self.host, "REDIS_PORT": str(self.port)}
        if self.config.password is not None:
            env["REDIS_PASSWORD"] = self.config.password
        return env

    def __enter__(self) -> RedisInstance:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> RedisInstance:
        """Start the server (a no-op when running) and return once PING answers."""
        if self.pid is not None:
            return self
        self.base_dir.mkdir(parents=True, exist_ok=True)
        attempts = 3 if self._port_is_ours else 1
        for attempt in range(1, attempts + 1):
            if self._port_is_ours:
                self.port = free_port(self.host)
            self._spawn()
            try:
                self._wait_ready()
            except DatastoreError:
                self.kill()
                if attempt < attempts and "Address already in use" in log_tail(self.log_file, 40):
                    continue
                raise
            except BaseException:
                self.kill()
                raise
            break
        self._port_is_ours = False  # restarts keep the port clients were given
        return self

    def _spawn(self) -> None:
        out: IO[bytes] | None = self.log_file.open("ab") if self.log_file is not None else None
        try:
            self._proc = subprocess.Popen(
                redis_server_args(self.config, self.host, self.port, self.base_dir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only: dies with the thread that started it
            )
        except OSError as exc:
            raise DatastoreError(
                f"expected to run redis-server, could not: {exc}. Hint: apt-get install redis-server."
            ) from exc
        finally:
            if out is not None:
                out.close()

    def stop(self) -> None:
        """SIGTERM (Redis exits at once without persistence), then reap the process."""
        if self._proc is not None:
            reap_group(self._proc, first_signal=signal.SIGTERM, grace=10.0)

    def kill(self) -> None:
        """Crash the server with SIGKILL."""
        if self._proc is not None:
            reap_group(self._proc, first_signal=None, grace=0.0)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.config.start_timeout
        last = ""
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise self._error(f"expected redis-server to keep running, it exited with {self._proc.returncode}")
            try:
                last = ping(self.host, self.port, self.config.password)
                if last == "+PONG":
                    return
            except OSError as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise self._error(
                    f"expected PING to answer +PONG within {self.config.start_timeout:.0f}s, got {last!r}"
                )
            time.sleep(0.02)

    def _error(self, what: str) -> DatastoreError:
        return DatastoreError(
            f"Redis on {self.host}:{self.port}: {what}.\nLast lines of {self.log_file}:\n{log_tail(self.log_file)}\n"
            "Hint: a port clash or an invalid maxmemory value is the usual cause."
        )
