"""Running localkube: in-process (``LocalKube``, async) or as a supervised subprocess (``LocalKubeProcess``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import yaml

from drillbook.errors import ClusterError, UsageError
from drillbook.platform.local.kube.server import KubeletFactory, LocalKubeServer, real_kubelet
from drillbook.processes import die_with_parent

if TYPE_CHECKING:
    from drillbook.platform.local.kube.kubelet import ImageMap

CONTEXT = "localkube"


def write_kubeconfig(path: Path, url: str, namespace: str = "default") -> None:
    """Write a kubeconfig whose only context, ``localkube``, points at ``url`` (atomically)."""
    refuse_home_kube(path, "kubeconfig")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {"token": "localkube"}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}],
        "current-context": CONTEXT,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.replace(path)


def client_env(kubeconfig: Path, state_dir: Path) -> dict[str, str]:
    """Environment for kubectl and clients: this cluster's kubeconfig and its own kubectl cache."""
    return {"KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(state_dir / "kubectl-cache")}


def refuse_home_kube(path: Path, what: str) -> None:
    """Refuse any path inside ``~/.kube``: a throwaway cluster must never touch the user's own config.

    Raises:
        UsageError: ``path`` is inside ``~/.kube``.
    """
    home_kube = (Path.home() / ".kube").resolve()
    if path.resolve().is_relative_to(home_kube):
        raise UsageError(
            f"refusing to put the localkube {what} at {path}: it is inside {home_kube}, the user's own "
            "configuration. Pass a per-run path instead, e.g. --kubeconfig /tmp/localkube/kubeconfig."
        )


class LocalKube:
    """localkube in the current event loop: ``async with LocalKube(...) as kube: kube.url, kube.env()``."""

    def __init__(
        self,
        *,
        state_dir: Path,
        images: ImageMap | None = None,
        port: int = 0,
        time_factor: float = 1.0,
        kubeconfig: Path | None = None,
        kubelet_factory: KubeletFactory | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.kubeconfig = kubeconfig or state_dir / "kubeconfig"
        factory = (
            kubelet_factory
            if kubelet_factory is not None
            else (real_kubelet(images, time_factor) if images is not None else None)
        )
        self.server = LocalKubeServer(state_dir=state_dir, kubelet_factory=factory, port=port, time_factor=time_factor)

    @property
    def url(self) -> str:
        """The API server URL (valid once started)."""
        return self.server.url

    def env(self) -> dict[str, str]:
        """``KUBECONFIG`` and ``KUBECACHEDIR`` for subprocesses."""
        return client_env(self.kubeconfig, self.state_dir)

    async def __aenter__(self) -> LocalKube:
        refuse_home_kube(self.kubeconfig, "kubeconfig")
        refuse_home_kube(self.state_dir, "state directory")
        await self.server.start()
        write_kubeconfig(self.kubeconfig, self.url)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.server.stop()


class LocalKubeProcess:
    """localkube as a child process (own process group), for fixtures and tests; waits for ``/readyz``."""

    def __init__(
        self,
        *,
        state_dir: Path,
        images: list[Path] | None = None,
        port: int = 0,
        time_factor: float = 1.0,
        kubeconfig: Path | None = None,
        startup_timeout_s: float = 30.0,
    ) -> None:
        self.state_dir = state_dir
        self.kubeconfig = kubeconfig or state_dir / "kubeconfig"
        self.images = images or []
        self.port = port
        self.time_factor = time_factor
        self.startup_timeout_s = startup_timeout_s
        self.log_path = state_dir / "localkube.log"
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        """``KUBECONFIG`` and ``KUBECACHEDIR`` for subprocesses."""
        return client_env(self.kubeconfig, self.state_dir)

    def start(self) -> None:
        """Start the child and wait until it answers ``/readyz``; tears down if it does not."""
        refuse_home_kube(self.kubeconfig, "kubeconfig")
        refuse_home_kube(self.state_dir, "state directory")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "drillbook.platform.local.kube",
            "--kubeconfig",
            str(self.kubeconfig),
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            "--time-factor",
            str(self.time_factor),
        ]
        for image_file in self.images:
            cmd += ["--images", str(image_file)]
        with self.log_path.open("ab") as log:
            # SIGTERM when the process that started it dies (even by SIGKILL): localkube then stops its pods.
            self.process = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=lambda: die_with_parent(signal.SIGTERM),  # noqa: PLW1509 - prctl only, async-signal-safe enough
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._failure(f"localkube exited with code {self.process.returncode} before it was ready")
            if self.kubeconfig.exists():
                config = yaml.safe_load(self.kubeconfig.read_text())
                self.url = config["clusters"][0]["cluster"]["server"]
                try:
                    with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as resp:
                        if resp.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.05)
        raise self._failure(f"localkube was not ready within {self.startup_timeout_s:.0f}s")

    def _failure(self, what: str) -> ClusterError:
        tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        err = ClusterError(f"{what}. Expected /readyz to answer 200. Hint: read {self.log_path}.")
        if tail:
            err.add_note(f"last output of localkube:\n{tail}")
        return err

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM the child's process group (it kills its pods), then SIGKILL after ``timeout_s``."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the child's process group at once (what a crash looks like)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> LocalKubeProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
