"""An existing Kubernetes cluster, refused unless its context is explicitly allowed.

Drills inject real faults. Pointing them at a cluster is allowed only when ``DRILLBOOK_ALLOW_CONTEXTS``
names the kubeconfig's current context (comma-separated), checked before anything runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import UsageError
from drillbook.journal import Platform
from drillbook.platform.kube_sandbox import KubeSandbox, PortForwardAccess
from drillbook.scenario import load_scenario


def current_context(kubeconfig: Path) -> str:
    """The kubeconfig's current context."""
    try:
        data = yaml.safe_load(kubeconfig.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read the kubeconfig {kubeconfig}: {exc}") from exc
    context = data.get("current-context")
    if not context:
        raise UsageError(
            f"the kubeconfig {kubeconfig} has no current-context; select one with kubectl config use-context"
        )
    return str(context)


def check_allowed(kubeconfig: Path, environ: Mapping[str, str]) -> str:
    """Refuse a context that ``DRILLBOOK_ALLOW_CONTEXTS`` does not name (the production guard)."""
    context = current_context(kubeconfig)
    allowed = {c.strip() for c in environ.get("DRILLBOOK_ALLOW_CONTEXTS", "").split(",") if c.strip()}
    if context not in allowed:
        raise UsageError(
            f"refusing to inject faults into context {context!r} of {kubeconfig}: it is not in "
            f"DRILLBOOK_ALLOW_CONTEXTS ({', '.join(sorted(allowed)) or 'empty'}). If this cluster is a throwaway, "
            f"set DRILLBOOK_ALLOW_CONTEXTS={context}"
        )
    return context


def provider(scenarios_dir: Path, run_dir: Path, environ: Mapping[str, str] | None = None) -> SandboxFactory:
    """Deploy scenarios into the allowed existing cluster named by ``KUBECONFIG``."""
    env = os.environ if environ is None else environ
    path = env.get("KUBECONFIG")
    if not path:
        raise UsageError("the existing platform needs KUBECONFIG pointing at the cluster to use")
    kubeconfig = Path(path.split(os.pathsep)[0])
    check_allowed(kubeconfig, env)

    def provision(system: str) -> Sandbox:
        scenario = load_scenario(scenarios_dir / system)
        workdir = run_dir / "sandboxes" / system
        workdir.mkdir(parents=True, exist_ok=True)
        kube_env = {"KUBECONFIG": str(kubeconfig)}
        sandbox = KubeSandbox(
            scenario=scenario,
            platform=Platform.EXISTING,
            kube_env=kube_env,
            workdir=workdir,
            access_factory=lambda api: PortForwardAccess(kube_env, api),
        )
        sandbox.deploy()
        return sandbox

    return provision
