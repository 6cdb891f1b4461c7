"""kind: a throwaway Kubernetes-in-Docker cluster per drill, via the ``kind`` CLI.

The bring-up is a plan (:func:`kind_plan`): a pure list of the commands a user would type, in order, each with the
undo that must run if anything after it fails. ``.github/workflows/gameday.yml`` and the README document the same
commands, and a unit test holds them together. Each command runs as a journaled bring-up action
(:func:`plan_actions`, :mod:`drillbook.platform.bringup`) whose undo is recorded before it runs, so a failing
``kind load`` (or anything later) never leaks the cluster, and ``drillbook cleanup`` deletes it after a kill.

Images are built locally (``drillbook images build --seed DIR``, :mod:`drillbook.platform.docker.seed_images`: no
registry is reachable in our CI) under the names the manifests use, and loaded with ``kind load docker-image``.

After the plan's commands come two in-process actions (:func:`kind_actions`): ``access`` (the sandbox's API
client and its Service relays) and ``metrics``, the sandbox's Prometheus, which scrapes the pods and the node's
cAdvisor through the API server kind publishes on 127.0.0.1 (:mod:`drillbook.platform.prometheus.modes`).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import ClusterError, UsageError
from drillbook.journal import Platform
from drillbook.platform.bringup import Action, BringUp, Facts, UndoSpec
from drillbook.platform.docker.seed_images import seed_image_plan
from drillbook.platform.endpoint_access import EndpointAccess
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.prometheus import PrometheusAction
from drillbook.platform.prometheus.bringup import cluster_metrics_action
from drillbook.scenario import Scenario, load_scenario

Runner = Callable[[Sequence[str]], str]

CREATE_WAIT = "180s"
"""How long ``kind create cluster`` waits for the control plane."""
AVAILABLE_TIMEOUT = "180s"
"""How long ``kubectl wait`` waits for each of the scenario's Deployments."""
COMMAND_TIMEOUT_S = 600.0


def run_command(argv: Sequence[str]) -> str:
    """Run a CLI; a failure is a cluster error with its output."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"{' '.join(argv)} did not complete: {exc}") from exc
    if done.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return done.stdout


def _pod_spec(doc: dict[str, object]) -> dict[str, list[dict[str, str]]]:
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    return pod if isinstance(pod, dict) else {}


def scenario_images(manifests: Path) -> list[str]:
    """Every container image the scenario's manifests use, in order of first use."""
    images: list[str] = []
    for doc in yaml.safe_load_all(manifests.read_text(encoding="utf-8")):
        if not isinstance(doc, dict):
            continue
        spec = _pod_spec(doc)
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            if container.get("image") and container["image"] not in images:
                images.append(container["image"])
    return images


def images_to_load(manifests: Path, images_file: Path) -> list[str]:
    """What the cluster must hold: the manifests' images, then every other tag ``images.yaml`` names (the previous
    and the bad releases a fault or a runbook's rollback deploys), in order, once each."""
    wanted = scenario_images(manifests)
    data = yaml.safe_load(images_file.read_text(encoding="utf-8")) or {}
    for tag in (data.get("images") or {}) if isinstance(data, dict) else {}:
        if str(tag) not in wanted:
            wanted.append(str(tag))
    return wanted


def scenario_deployments(manifests: Path) -> list[tuple[str, str]]:
    """(namespace, name) of every Deployment the scenario deploys: all that ``wait`` may look at."""
    found = []
    for doc in yaml.safe_load_all(manifests.read_text(encoding="utf-8")):
        if isinstance(doc, dict) and doc.get("kind") == "Deployment":
            meta = doc.get("metadata") or {}
            found.append((str(meta.get("namespace") or "default"), str(meta["name"])))
    return found


@dataclass(frozen=True)
class Step:
    """One bring-up command, and the command that undoes it (recorded before it runs)."""

    action: str
    """Which bring-up action this belongs to: cluster, images, load, deploy, wait."""
    argv: tuple[str, ...]
    undo: tuple[str, ...] | None = None


def kind_plan(
    cluster: str, kubeconfig: Path, images: Sequence[str], manifests: Path, deployments: Sequence[tuple[str, str]]
) -> list[Step]:
    """The commands that bring a scenario up on kind, in order (pure: nothing runs)."""
    kcfg = str(kubeconfig)
    delete = ("kind", "delete", "cluster", "--name", cluster, "--kubeconfig", kcfg)
    plan = [
        Step("cluster", ("kind", "create", "cluster", "--name", cluster, "--kubeconfig", kcfg, "--wait", CREATE_WAIT),
             undo=delete),
        Step("images", ("drillbook", "images", "build", "--seed", str(manifests.parent))),
    ]  # fmt: skip
    plan += [Step("load", ("kind", "load", "docker-image", image, "--name", cluster)) for image in images]
    plan.append(Step("deploy", ("kubectl", "--kubeconfig", kcfg, "apply", "-f", str(manifests))))
    plan += [
        Step("wait", ("kubectl", "--kubeconfig", kcfg, "-n", namespace, "wait", "--for=condition=Available",
                      f"--timeout={AVAILABLE_TIMEOUT}", f"deployment/{name}"))
        for namespace, name in deployments
    ]  # fmt: skip
    return plan


def step_name(step: Step) -> str:
    """The step as a named bring-up action: ``cluster``, ``load zephyr/backend:2.0``, ``wait deployment/redis``."""
    if step.action == "load":
        return f"load {step.argv[3]}"
    if step.action == "wait":
        return f"wait {step.argv[-1]}"
    return step.action


def plan_actions(plan: Sequence[Step], runner: Runner) -> list[Action]:
    """The plan's steps as bring-up actions; a step's undo command is journaled (and replayable) before it runs."""

    def act(argv: tuple[str, ...]) -> Callable[[], Facts | None]:
        def run() -> Facts | None:
            runner(argv)
            return None

        return run

    def undo(argv: tuple[str, ...]) -> Callable[[], None]:
        def run() -> None:
            runner(argv)

        return run

    return [
        Action(
            step_name(step),
            act(step.argv),
            None if step.undo is None else undo(step.undo),
            None if step.undo is None else UndoSpec("run", shlex.join(step.undo), {"argv": list(step.undo)}),
        )
        for step in plan
    ]


def cluster_name(system: str) -> str:
    """A cluster name unique to the drill, so a cluster a killed run left never blocks the next one."""
    return f"drillbook-{system}"[:30] + f"-{uuid.uuid4().hex[:6]}"


def kind_actions(
    plan: Sequence[Step],
    runner: Runner,
    sandbox: Callable[[], KubeSandbox],
    prometheus: PrometheusAction,
    *,
    scenario: Scenario,
    kubeconfig: Path,
    workdir: Path,
) -> list[Action]:
    """The whole kind bring-up: the plan's commands, then ``access`` (``sandbox()`` makes the sandbox; the undo
    releases it) and ``metrics`` (Prometheus through the API server; the undo stops it), so teardown stops
    Prometheus, then the relays, then deletes the cluster."""
    made: list[KubeSandbox] = []

    def access() -> None:
        made.append(sandbox())

    def release() -> None:
        for box in made:
            box.release()

    def deployed() -> KubeSandbox:
        return made[0]

    return [
        *plan_actions(plan, runner),
        Action("access", access, release),
        cluster_metrics_action(prometheus, deployed, scenario, kubeconfig, workdir),
    ]


def provider(
    scenarios_dir: Path,
    run_dir: Path,
    runner: Runner = run_command,
    prometheus: Callable[[], PrometheusAction] = PrometheusAction,
    *,
    sandbox_type: type[KubeSandbox] = KubeSandbox,
    after_action: Callable[[str], None] | None = None,
) -> SandboxFactory:
    """A fresh kind cluster per drill (``prometheus`` and ``sandbox_type``: a test hands in fake ones).

    ``after_action``: called with each bring-up action's name once it finished (a test injects a failure there).
    """
    if runner is run_command and shutil.which("kind") is None:
        raise UsageError("the kind platform needs the kind CLI on PATH (and a running Docker engine)")

    def provision(system: str) -> Sandbox:
        scenario = load_scenario(scenarios_dir / system)
        seed_image_plan(scenarios_dir / system)  # an image no cluster can hold is said before a cluster is made
        cluster = cluster_name(system)
        workdir = run_dir / "sandboxes" / cluster
        workdir.mkdir(parents=True, exist_ok=True)
        kubeconfig = workdir / "kubeconfig"
        plan = kind_plan(
            cluster,
            kubeconfig,
            images_to_load(scenario.manifests, scenario.images),
            scenario.manifests,
            scenario_deployments(scenario.manifests),
        )
        bringup = BringUp(workdir, platform=Platform.KIND.value, after_action=after_action)
        kube_env = {"KUBECONFIG": str(kubeconfig)}
        made: list[KubeSandbox] = []

        def sandbox() -> KubeSandbox:
            made.append(
                sandbox_type(
                    scenario=scenario,
                    platform=Platform.KIND,
                    kube_env=kube_env,
                    workdir=workdir,
                    access_factory=lambda api: EndpointAccess(kube_env, api),
                    on_close=bringup.close,
                    bringup=bringup,
                )
            )
            return made[-1]

        actions = kind_actions(
            plan, runner, sandbox, prometheus(), scenario=scenario, kubeconfig=kubeconfig, workdir=workdir
        )
        bringup.run_all(actions)
        return made[0]

    return provision
