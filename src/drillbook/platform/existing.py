"""An existing Kubernetes cluster, refused unless its context is explicitly allowed.

Drills inject real faults. Pointing them at a cluster is allowed only when ``DRILLBOOK_ALLOW_CONTEXTS``
names the kubeconfig's current context (comma-separated), checked before anything runs. An entry
``name=https://server:6443`` also pins the API server the context must point at.

Everything the run does (faults, deploys, runbook commands) uses a copy of the kubeconfig cut down to that
one context, written into the run directory when the run starts; before each provision the user's kubeconfig
is checked again, and a context that now points at another server or CA is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import UsageError
from drillbook.execute.kubeconfig import Pinned, pin, read_context
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
    """Refuse a context that ``DRILLBOOK_ALLOW_CONTEXTS`` does not name, or that points at another server than
    the entry pins (the production guard)."""
    context = current_context(kubeconfig)
    entries = [c.strip() for c in environ.get("DRILLBOOK_ALLOW_CONTEXTS", "").split(",") if c.strip()]
    servers = {name.strip(): server.strip() for name, _, server in (e.partition("=") for e in entries)}
    allowed = set(servers)
    if context in allowed and servers[context]:
        _, pinned = read_context(kubeconfig, context)
        if pinned.server.rstrip("/") != servers[context].rstrip("/"):
            raise UsageError(
                f"refusing context {context!r} of {kubeconfig}: it points at {pinned.server}, but "
                f"DRILLBOOK_ALLOW_CONTEXTS pins it to {servers[context]}"
            )
    if context not in allowed:
        raise UsageError(
            f"refusing to inject faults into context {context!r} of {kubeconfig}: it is not in "
            f"DRILLBOOK_ALLOW_CONTEXTS ({', '.join(sorted(allowed)) or 'empty'}). If this cluster is a throwaway, "
            f"set DRILLBOOK_ALLOW_CONTEXTS={context}"
        )
    return context


def check_unchanged(source: Path, context: str, pinned: Pinned) -> None:
    """Refuse to go on when the allowed context now points at another server or CA than when the run started."""
    _, now = read_context(source, context)
    if (now.server, now.certificate_authority_data) != (pinned.server, pinned.certificate_authority_data):
        raise UsageError(
            f"context {context!r} of {source} changed during the run: it pointed at {pinned.server} and now at "
            f"{now.server} (or its CA changed); refusing to provision on a cluster that is not the one allowed"
        )


def provider(scenarios_dir: Path, run_dir: Path, environ: Mapping[str, str] | None = None) -> SandboxFactory:
    """Deploy scenarios into the allowed existing cluster named by ``KUBECONFIG``."""
    env = os.environ if environ is None else environ
    path = env.get("KUBECONFIG")
    if not path:
        raise UsageError("the existing platform needs KUBECONFIG pointing at the cluster to use")
    source = Path(path.split(os.pathsep)[0])
    context = check_allowed(source, env)
    kubeconfig = run_dir / "existing" / "kubeconfig"
    pinned = pin(source, kubeconfig, context)

    def provision(system: str) -> Sandbox:
        check_unchanged(source, context, pinned)
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
