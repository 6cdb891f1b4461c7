"""Run locust in its own process and stream every request back as a :class:`RequestRecord`.

locust (and its gevent monkey-patching) never enters this process: the generator starts
``python -m locust -f drillbook/traffic/locustfile.py --headless`` in its own process group, reads one JSON
line per request from an inherited pipe on a reader thread, and steers the user count through a second
pipe. The child ends by itself at its run time, when the control pipe closes, or when this process dies.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from drillbook.errors import TrafficError, UsageError
from drillbook.slo.stats import RequestRecord
from drillbook.traffic.profile import DEFAULT_PROFILE, TrafficProfile

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


class NonLoopbackHost(UsageError):
    """The traffic target is not on this machine: drills only ever send traffic to loopback."""


def require_loopback(host: str) -> str:
    """Return ``host`` (an ``http(s)://`` URL) if it points at loopback, else raise :class:`NonLoopbackHost`."""
    parts = urlsplit(host)
    name = parts.hostname or ""
    loopback = name == "localhost"
    if not loopback:
        with contextlib.suppress(ValueError):
            loopback = ipaddress.ip_address(name).is_loopback
    if parts.scheme not in {"http", "https"} or not loopback:
        raise NonLoopbackHost(
            f"expected an http(s) URL on loopback (127.0.0.0/8, ::1 or localhost) as the traffic target, "
            f"got {host!r}; point traffic at the sandbox's local service address"
        )
    return host


class LoadGenerator:
    """A bounded locust run against a loopback service; a context manager that always reaps the process.

    Args:
        host: Base URL of the service, e.g. ``http://127.0.0.1:8080``; must be loopback.
        run_time_s: The run ends by itself after this many seconds (mandatory: load is always bounded).
        users: Simulated users at start.
        spawn_rate: Users started per second (default: all at once).
        profile: Which endpoints to call and how often.
        on_record: Called on the reader thread with every record. Without it, records queue up for
            :meth:`records` / :meth:`drain`.
        workdir: Where the profile and locust's log go (default: a fresh temp dir).
    """

    def __init__(
        self,
        host: str,
        *,
        run_time_s: float,
        users: int = 5,
        spawn_rate: float | None = None,
        profile: TrafficProfile = DEFAULT_PROFILE,
        on_record: Callable[[RequestRecord], None] | None = None,
        workdir: Path | str | None = None,
    ) -> None:
        self.host = require_loopback(host)
        if not run_time_s > 0 or not math.isfinite(run_time_s):
            raise UsageError(f"expected a positive, finite run time for the traffic, got {run_time_s!r}")
        if users < 0:
            raise UsageError(f"expected a user count >= 0, got {users}")
        self.run_time_s = run_time_s
        self.users = users
        self.spawn_rate = spawn_rate
        self.profile = profile
        self.received = 0
        """Records received so far."""
        self.malformed = 0
        """Lines from locust that were not records (should stay 0)."""
        self._on_record = on_record
        self._queue: queue.Queue[RequestRecord | None] = queue.Queue()
        self._workdir = None if workdir is None else Path(workdir)
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: int | None = None
        self._reader: threading.Thread | None = None
        self.log_path: Path | None = None
        """locust's own stdout/stderr, for diagnosing a failed run."""

    def __enter__(self) -> LoadGenerator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        """The locust process id (also its process group id), once started."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        """Start the locust subprocess in its own process group."""
        if self._proc is not None:
            raise TrafficError("expected a fresh load generator, but this one was already started; create a new one")
        workdir = self._workdir
        if workdir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="drillbook-traffic-")
            workdir = Path(self._tempdir.name)
        profile_path = workdir / "traffic-profile.json"
        profile_path.write_text(json.dumps(self.profile.to_json()), encoding="utf-8")
        self.log_path = workdir / "locust.log"
        record_r, record_w = os.pipe()
        control_r, control_w = os.pipe()
        env = {key: value for key, value in os.environ.items() if not key.startswith("LOCUST_")}
        env |= {
            "DRILLBOOK_RECORD_FD": str(record_w),
            "DRILLBOOK_CONTROL_FD": str(control_r),
            "DRILLBOOK_PARENT_PID": str(os.getpid()),
            "DRILLBOOK_TRAFFIC_PROFILE": str(profile_path),
        }
        try:
            with self.log_path.open("wb") as log:
                self._proc = subprocess.Popen(
                    self._command(),
                    cwd=workdir,  # so no stray locust.conf is picked up
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(record_w, control_r),
                    start_new_session=True,
                )
        except OSError as exc:
            os.close(record_r)
            os.close(control_w)
            raise TrafficError(f"could not start locust ({sys.executable} -m locust): {exc}") from exc
        finally:
            # The child holds its own copies; closing ours lets each side see end-of-file when the other ends.
            with contextlib.suppress(OSError):
                os.close(record_w)
            with contextlib.suppress(OSError):
                os.close(control_r)
        self._control = control_w
        self._reader = threading.Thread(target=self._read, args=(record_r,), name="drillbook-traffic", daemon=True)
        self._reader.start()

    def set_users(self, users: int, spawn_rate: float | None = None) -> None:
        """Change the number of simulated users without restarting the run."""
        if users < 0:
            raise UsageError(f"expected a user count >= 0, got {users}")
        if self._control is None:
            raise TrafficError("expected a running load generator to change users on; start it first")
        line = json.dumps({"users": users, "spawn_rate": spawn_rate or max(users, 1)}) + "\n"
        try:
            os.write(self._control, line.encode())
        except OSError as exc:
            raise TrafficError(f"locust is no longer listening for user changes ({exc}){self._log_hint()}") from exc
        self.users = users

    def records(self, timeout: float | None = None) -> Iterator[RequestRecord]:
        """Yield records as they arrive until the run ends (or ``timeout`` seconds pass with none)."""
        while True:
            try:
                record = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if record is None:
                return
            yield record

    def drain(self) -> list[RequestRecord]:
        """Every queued record, without waiting."""
        out: list[RequestRecord] = []
        while True:
            try:
                record = self._queue.get_nowait()
            except queue.Empty:
                return out
            if record is None:
                self._queue.put(None)  # keep the end marker for records()
                return out
            out.append(record)

    def ensure_running(self) -> None:
        """Raise :class:`TrafficError` (with locust's last output) if the run is not going any more."""
        if self._proc is None:
            raise TrafficError("expected a running load generator, but it was never started; call start() first")
        code = self._proc.poll()
        if code is not None:
            raise TrafficError(
                f"expected locust to keep sending traffic to {self.host}, but it exited with code {code} "
                f"after {self.received} requests{self._log_hint()}"
            )

    def running(self) -> bool:
        """Whether the locust process is still alive."""
        return self._proc is not None and self._proc.poll() is None

    def wait(self, timeout: float) -> int | None:
        """Wait for the run to end by itself; its exit code, or ``None`` if still running after ``timeout``."""
        if self._proc is None:
            return None
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        return code

    def stop(self, grace_s: float = 3.0) -> None:
        """End the run: close the control pipe, then SIGTERM and SIGKILL the process group; always reaps."""
        if self._control is not None:
            with contextlib.suppress(OSError):
                os.close(self._control)
            self._control = None
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace_s)
        if proc is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                # The whole group: locust may have helpers, and the group outlives its leader's exit.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=2.0)
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def _command(self) -> list[str]:
        users = str(self.users)
        rate = str(self.spawn_rate or max(self.users, 1))
        run_time = f"{max(1, math.ceil(self.run_time_s))}s"
        return [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            self.host,
            "-u",
            users,
            "-r",
            rate,
            "--run-time",
            run_time,
            "--stop-timeout",
            "1",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--exit-code-on-error",
            "0",
        ]

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            buffered = b""
            while chunk := pipe.read(65536):
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                for line in lines:
                    try:
                        record = RequestRecord.from_json(json.loads(line))
                    except (ValueError, KeyError, TypeError):
                        self.malformed += 1  # never lose the stream over one bad line; tests assert zero
                        continue
                    self._deliver(record)
        self._queue.put(None)

    def _deliver(self, record: RequestRecord) -> None:
        self.received += 1
        if self._on_record is not None:
            self._on_record(record)
        else:
            self._queue.put(record)

    def _log_hint(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        tail = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-10:]
        return f"; locust's last output ({self.log_path}):\n" + "\n".join(tail)
