"""``ToxiproxyProcess``: run ``drillbook toxiproxy`` as a subprocess, wait until its API answers, reap it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from drillbook.platform.local.datastores import free_port
from drillbook.platform.local.toxiproxy.errors import FaultProxyError
from drillbook.processes import die_with_parent


class ToxiproxyProcess:
    """A Toxiproxy-compatible server in its own process group; a context manager.

    Other code talks to it only over the Toxiproxy HTTP API at ``url`` (so a real Toxiproxy can stand in).
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, log_file: Path | None = None, start_timeout: float = 15.0
    ) -> None:
        """Describe the process; ``port`` 0 picks a free port at start."""
        self.host = host
        self.port = port
        self.log_file = log_file
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Pid while running."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def __enter__(self) -> ToxiproxyProcess:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> ToxiproxyProcess:
        """Start the server and wait until ``GET /version`` answers."""
        if self.pid is not None:
            return self
        if self.port == 0:
            self.port = free_port(self.host)
        out: IO[bytes] | int = subprocess.DEVNULL
        if self.log_file is not None:
            out = self.log_file.open("ab")
        cmd = [sys.executable, "-m", "drillbook", "toxiproxy", "--host", self.host, "--port", str(self.port)]
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only: dies with the thread that started it
            )
        finally:
            if not isinstance(out, int):
                out.close()
        self._wait_ready()
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the process group if it lingers; always reaps."""
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
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                last = f"it exited with {self._proc.returncode}"
                break
            try:
                with urllib.request.urlopen(f"{self.url}/version", timeout=1) as response:
                    json.loads(response.read())
                    return
            except (OSError, urllib.error.URLError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.05)
        where = f"; its log is {self.log_file}" if self.log_file else ""
        raise FaultProxyError(
            f"expected the fault proxy API at {self.url}/version within {self.start_timeout:.0f}s, "
            f"last error: {last}{where}. Hint: run 'drillbook toxiproxy --port {self.port}' by hand to see why."
        )
