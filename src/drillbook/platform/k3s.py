"""k3s in one container (testcontainers' ``K3SContainer``): faster than kind, needs only Docker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.journal import Platform
from drillbook.platform.kube_sandbox import KubeSandbox, PortForwardAccess
from drillbook.scenario import load_scenario


def _k3s_container() -> Any:
    from testcontainers.k3s import K3SContainer

    return K3SContainer()


def provider(
    scenarios_dir: Path, run_dir: Path, container_factory: Callable[[], Any] = _k3s_container
) -> SandboxFactory:
    """A fresh k3s container per drill."""

    def provision(system: str) -> Sandbox:
        scenario = load_scenario(scenarios_dir / system)
        workdir = run_dir / "sandboxes" / f"k3s-{system}"
        workdir.mkdir(parents=True, exist_ok=True)
        container = container_factory()
        container.start()
        try:
            kubeconfig = workdir / "kubeconfig"
            kubeconfig.write_text(container.config_yaml(), encoding="utf-8")
            kube_env = {"KUBECONFIG": str(kubeconfig)}
            sandbox = KubeSandbox(
                scenario=scenario,
                platform=Platform.K3S,
                kube_env=kube_env,
                workdir=workdir,
                access_factory=lambda api: PortForwardAccess(kube_env, api),
                on_close=container.stop,
            )
            sandbox.deploy()
        except BaseException:
            container.stop()
            raise
        return sandbox

    return provision
