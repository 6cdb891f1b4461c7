"""Find a running Docker engine, or start one that drillbook then owns and stops; never stop someone else's."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from drillbook.errors import SandboxError

#: Where drillbook records the dockerd it started, so only that one is ever stopped.
PIDFILE = Path("/run/drillbook-dockerd.pid")
LOG = Path("/var/log/drillbook-dockerd.log")
READY_TIMEOUT_S = 60.0


class DockerUnavailable(SandboxError):
    """No Docker engine runs and none can be started here: say what to install or start."""


@dataclass(frozen=True)
class EngineHandle:
    """A reachable engine; ``started_pid`` is set when drillbook started it (and so may stop it)."""

    server_version: str
    started_pid: int | None = None
    started_now: bool = False
    """This call started the engine: whoever asked should stop it when done (``DockerEngine.stop_if_ours``)."""


class DockerEngine:
    """The machine's Docker engine, as drillbook may use it."""

    def __init__(self, pidfile: Path = PIDFILE, log: Path = LOG) -> None:
        self.pidfile = pidfile
        self.log = log

    def version(self) -> str | None:
        """The engine's server version, or None when no engine answers."""
        if shutil.which("docker") is None:
            return None
        try:
            done = subprocess.run(
                ["docker", "version", "--format", "{{.Server.Version}}"],
                capture_output=True, text=True, timeout=20, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None

    def ensure(self) -> EngineHandle:
        """An engine that answers: the running one, else one started now (as root, from Debian's docker.io).

        Raises:
            DockerUnavailable: no engine answers and dockerd cannot be started, with what to do.
        """
        running = self.version()
        if running is not None:
            return EngineHandle(running, self._our_pid())
        dockerd = shutil.which("dockerd")
        if dockerd is None:
            raise DockerUnavailable(
                "expected a Docker engine, found none and no dockerd to start; "
                "install Debian's docker.io (apt-get install -y docker.io) or start your engine"
            )
        if os.geteuid() != 0:
            raise DockerUnavailable("expected a Docker engine, none answers; start dockerd (it needs root)")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                [dockerd, "--pidfile", str(self.pidfile)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            version = self.version()
            if version is not None:
                return EngineHandle(version, proc.pid, started_now=True)
            if proc.poll() is not None:
                break
            time.sleep(0.5)
        tail = self.log.read_text(errors="replace")[-1500:] if self.log.is_file() else ""
        raise DockerUnavailable(f"started dockerd (pid {proc.pid}) but it did not answer:\n{tail}")

    def _our_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            return None
        return pid if Path(exe).name == "dockerd" else None

    def stop_if_ours(self) -> bool:
        """Stop the dockerd drillbook started (recorded in the pidfile); return whether one was stopped."""
        pid = self._our_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.2)
        return True
