"""Debian's ``prometheus`` and its exporters as child processes: loopback only, dying with their starter.

Each runs in its own session (so it gets no terminal's Ctrl-C before drillbook's teardown) and asks the kernel
for SIGKILL when the thread that started it dies (:func:`~drillbook.processes.die_with_parent`), the way
PostgreSQL, Redis and the fault proxy do: a SIGKILLed run leaves no server behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from drillbook.errors import SandboxError
from drillbook.platform.local.datastores import free_port
from drillbook.processes import die_with_parent

PROMETHEUS_BIN = "prometheus"
POSTGRES_EXPORTER_BIN = "prometheus-postgres-exporter"
REDIS_EXPORTER_BIN = "prometheus-redis-exporter"


class ServerProcess:
    """One long-lived child in its own session, ready once ``GET ready_path`` answers 200."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        ready_path: str,
        log_file: Path,
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = 15.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.host = "127.0.0.1"
        self.port = port
        self.ready_path = ready_path
        self.log_file = log_file
        self.env = dict(env or {})
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Pid while running."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def __enter__(self) -> ServerProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> ServerProcess:
        """Start the process and wait until it is ready.

        Raises:
            SandboxError: The binary is missing, it exited, or it did not answer in time (its log tail attached).
        """
        if self.pid is not None:
            return self
        if shutil.which(self.argv[0]) is None:
            raise SandboxError(
                f"{self.argv[0]} is not installed; drillbook needs it for the sandbox's {self.name}. "
                "Hint: run scripts/install-system-packages (it installs the Debian package)"
            )
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self.env},
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only: dies with the thread that started it
            )
        self._wait_ready()
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the session's group if it lingers; always reaps."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                last = f"it exited with {self._proc.returncode}"
                break
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError) as exc:
                last = str(exc)
            time.sleep(0.02)
        error = SandboxError(
            f"expected the sandbox's {self.name} to answer {self.url}{self.ready_path} within "
            f"{self.start_timeout_s:.0f} s; last: {last}"
        )
        with contextlib.suppress(OSError):
            error.add_note("its log ends:\n" + self.log_file.read_text(errors="replace")[-2000:])
        error.add_note(f"Hint: run {' '.join(self.argv)} by hand to see why")
        self.stop()
        raise error


def prometheus_process(config_file: Path, storage_dir: Path, log_file: Path, port: int = 0) -> ServerProcess:
    """Prometheus on loopback with its TSDB in ``storage_dir``; ``--web.enable-lifecycle`` lets drillbook reload it."""
    port = port or free_port("127.0.0.1")
    argv = [
        PROMETHEUS_BIN,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={storage_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1d",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    return ServerProcess("Prometheus", argv, port=port, ready_path="/-/ready", log_file=log_file)


def postgres_exporter(dsn: str, log_file: Path, port: int = 0) -> ServerProcess:
    """``prometheus-postgres-exporter`` for one database (``pg_up``, ``pg_stat_activity_count`` …)."""
    port = port or free_port("127.0.0.1")
    argv = [POSTGRES_EXPORTER_BIN, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    return ServerProcess(
        "PostgreSQL exporter",
        argv,
        port=port,
        ready_path="/",
        log_file=log_file,
        env={"DATA_SOURCE_NAME": dsn},
    )


def redis_exporter(address: str, log_file: Path, port: int = 0) -> ServerProcess:
    """``prometheus-redis-exporter`` for one Redis (``redis_up``, ``redis_connected_clients`` …)."""
    port = port or free_port("127.0.0.1")
    argv = [REDIS_EXPORTER_BIN, f"-redis.addr=redis://{address}", f"-web.listen-address=127.0.0.1:{port}"]
    return ServerProcess("Redis exporter", argv, port=port, ready_path="/", log_file=log_file)
