"""An existing Kubernetes cluster, refused unless its context is explicitly allowed.

Drills inject real faults. Pointing them at a cluster is allowed only when ``DRILLBOOK_ALLOW_CONTEXTS``
names the kubeconfig's current context (comma-separated), checked before anything runs. An entry
``name=https://server:6443`` also pins the API server the context must point at.

Everything the run does (faults, deploys, runbook commands) uses a copy of the kubeconfig cut down to that
one context, written into the run directory when the run starts; before each provision the user's kubeconfig
is checked again, and a context that now points at another server or CA is refused.

The last bring-up action, ``metrics``, is the sandbox's Prometheus, scraping the pods and the nodes' cAdvisor
through the API server's proxy (:mod:`drillbook.platform.prometheus.modes`) when that API server is on loopback
(a local cluster). A remote API server is never scraped: Prometheus is then left out of the sandbox, the reason
journaled with the action, and the runbook's PromQL steps stay unbound.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import UsageError
from drillbook.execute.kubeconfig import Pinned, pin, read_context
from drillbook.journal import Platform
from drillbook.platform.bringup import Action, BringUp, UndoSpec
from drillbook.platform.endpoint_access import EndpointAccess
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.prometheus import PrometheusAction
from drillbook.platform.prometheus.bringup import cluster_metrics_action
from drillbook.scenario import Scenario, load_scenario

_counter = itertools.count(1)


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


def created_objects(manifests: Path, existed: Callable[[str, str, str], bool]) -> list[dict[str, Any]]:
    """The manifests' objects that did not exist before the drill applied them: all that teardown may delete
    (a Namespace such as ``default`` or ``production`` that was already there is never deleted)."""
    docs = [d for d in yaml.safe_load_all(manifests.read_text(encoding="utf-8")) if isinstance(d, dict)]
    out = []
    for doc in docs:
        meta = doc.get("metadata") or {}
        namespace = "" if doc.get("kind") == "Namespace" else str(meta.get("namespace") or "default")
        if not existed(str(doc.get("kind")), namespace, str(meta.get("name"))):
            out.append(doc)
    return out


def _existed(kube_env: Mapping[str, str]) -> Callable[[str, str, str], bool]:
    def check(kind: str, namespace: str, name: str) -> bool:
        argv = ["kubectl", "get", kind, name, "--ignore-not-found", "-o", "name"]
        argv += ["-n", namespace] if namespace else []
        done = subprocess.run(
            argv, env={**os.environ, **kube_env}, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise UsageError(f"kubectl get {kind} {name} failed: {done.stderr.strip()}")
        return bool(done.stdout.strip())

    return check


def created_file(workdir: Path, created: list[dict[str, Any]]) -> Path:
    """Write what the drill will create (newest first, as deleted) before it is applied: the undo's input."""
    path = workdir / "created-by-drill.yaml"
    path.write_text(yaml.safe_dump_all(list(reversed(created)), sort_keys=False), encoding="utf-8")
    return path


def delete_argv(path: Path) -> list[str]:
    """The command that deletes what the drill created (also replayed by ``drillbook cleanup``)."""
    return ["kubectl", "delete", "-f", str(path), "--ignore-not-found", "--wait=false"]


def _delete(kube_env: Mapping[str, str], created: list[dict[str, Any]], path: Path) -> None:
    if not created:
        return
    done = subprocess.run(
        delete_argv(path), env={**os.environ, **kube_env}, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise UsageError(f"could not delete what the drill created ({path}): {done.stderr.strip()}")


READY_TIMEOUT_S = 300.0
"""How long provision waits for the scenario's Deployments to be Available on a shared cluster, where images are
pulled from a registry; a pod that cannot start (missing command, bad image, crash loop) fails at once whatever
this is."""


def scenario_sandbox(
    scenario: Scenario,
    kube_env: Mapping[str, str],
    workdir: Path,
    on_close: Callable[[], None],
    bringup: BringUp | None = None,
    *,
    sandbox_type: type[KubeSandbox] = KubeSandbox,
) -> KubeSandbox:
    """The sandbox of a scenario on the existing cluster. It waits as every :class:`KubeSandbox` does: only on the
    Deployments the scenario's manifests name (another team's unhealthy one never blocks), failing fast with the
    pod's events and logs when one cannot start."""
    return sandbox_type(
        scenario=scenario,
        platform=Platform.EXISTING,
        kube_env=kube_env,
        workdir=workdir,
        access_factory=lambda api: EndpointAccess(kube_env, api),
        on_close=on_close,
        bringup=bringup,
        ready_timeout_s=READY_TIMEOUT_S,
    )


Existed = Callable[[Mapping[str, str]], Callable[[str, str, str], bool]]
"""Given the kube env, whether (kind, namespace, name) is in the cluster before the drill applies anything."""


def provider(
    scenarios_dir: Path,
    run_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    existed: Existed = _existed,
    sandbox_type: type[KubeSandbox] = KubeSandbox,
    prometheus: Callable[[], PrometheusAction] = PrometheusAction,
    delete_created: Callable[[Mapping[str, str], list[dict[str, Any]], Path], None] = _delete,
    after_action: Callable[[str], None] | None = None,
) -> SandboxFactory:
    """Deploy scenarios into the allowed existing cluster named by ``KUBECONFIG``.

    ``existed``, ``sandbox_type``, ``prometheus`` and ``delete_created`` (the deploy's undo: it deletes what
    :func:`created_file` lists): a test hands in ones that run no kubectl and start no Prometheus.
    ``after_action``: called with each bring-up action's name once it finished (a test injects a failure there).
    """
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
        workdir = run_dir / "sandboxes" / f"{system}-{next(_counter)}"
        workdir.mkdir(parents=True, exist_ok=True)
        kube_env = {"KUBECONFIG": str(kubeconfig)}
        created = created_objects(scenario.manifests, existed(kube_env))  # before anything is applied
        path = created_file(workdir, created)
        bringup = BringUp(workdir, platform=Platform.EXISTING.value, after_action=after_action)
        sandbox = scenario_sandbox(
            scenario, kube_env, workdir, on_close=bringup.close, bringup=bringup, sandbox_type=sandbox_type
        )

        def delete() -> None:
            sandbox.release()
            delete_created(kube_env, created, path)

        replay = UndoSpec(
            "run", f"delete what the drill created ({path})", {"argv": delete_argv(path), "env": kube_env}
        )
        bringup.run_all(
            [
                Action("deploy", sandbox.apply, delete, replay if created else None),
                Action("wait available", sandbox.wait_available),
                cluster_metrics_action(prometheus(), lambda: sandbox, scenario, kubeconfig, workdir),
            ]
        )
        return sandbox

    return provision
