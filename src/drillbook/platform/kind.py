"""kind: a throwaway Kubernetes-in-Docker cluster per run, via the ``kind`` CLI.

The scenario's images must exist in the local Docker engine (build them from Debian packages: no registry
is reachable in our CI); they are loaded into the cluster with ``kind load docker-image``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import ClusterError, UsageError
from drillbook.journal import Platform
from drillbook.platform.kube_sandbox import KubeSandbox, PortForwardAccess
from drillbook.scenario import load_scenario

Runner = Callable[[Sequence[str]], str]


def run_command(argv: Sequence[str]) -> str:
    """Run a CLI; a failure is a cluster error with its output."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"{' '.join(argv)} did not complete: {exc}") from exc
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done.stdout


def scenario_images(manifests: Path) -> list[str]:
    """Every container image the scenario's manifests use."""
    images: list[str] = []
    for doc in yaml.safe_load_all(manifests.read_text(encoding="utf-8")):
        spec = ((doc or {}).get("spec") or {}).get("template", {}).get("spec", {})
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            if container.get("image") and container["image"] not in images:
                images.append(container["image"])
    return images


class KindCluster:
    """One kind cluster: created on start, deleted on close."""

    def __init__(self, name: str, workdir: Path, runner: Runner = run_command) -> None:
        self.name = name
        self.kubeconfig = workdir / "kubeconfig"
        self.runner = runner

    def create(self, images: Sequence[str]) -> None:
        """Create the cluster and load the images into it."""
        self.runner(
            ["kind", "create", "cluster", "--name", self.name, "--kubeconfig", str(self.kubeconfig), "--wait", "180s"]
        )
        for image in images:
            self.runner(["kind", "load", "docker-image", image, "--name", self.name])

    def delete(self) -> None:
        """Delete the cluster."""
        self.runner(["kind", "delete", "cluster", "--name", self.name])


def provider(scenarios_dir: Path, run_dir: Path, runner: Runner = run_command) -> SandboxFactory:
    """A fresh kind cluster per drill."""
    if runner is run_command and shutil.which("kind") is None:
        raise UsageError("the kind platform needs the kind CLI on PATH (and a running Docker engine)")

    def provision(system: str) -> Sandbox:
        scenario = load_scenario(scenarios_dir / system)
        workdir = run_dir / "sandboxes" / f"kind-{system}"
        workdir.mkdir(parents=True, exist_ok=True)
        cluster = KindCluster(f"drillbook-{system}"[:40], workdir, runner)
        cluster.create(scenario_images(scenario.manifests))
        kube_env = {"KUBECONFIG": str(cluster.kubeconfig)}
        try:
            sandbox = KubeSandbox(
                scenario=scenario,
                platform=Platform.KIND,
                kube_env=kube_env,
                workdir=workdir,
                access_factory=lambda api: PortForwardAccess(kube_env, api),
                on_close=cluster.delete,
            )
            sandbox.deploy()
        except BaseException:
            cluster.delete()
            raise
        return sandbox

    return provision
