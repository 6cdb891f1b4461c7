"""k3s in one container (``testcontainers.community.k3s.K3SContainer``): faster than kind, needs only Docker.

No registry is reachable where drillbook runs its CI, so the k3s image must already be in the local engine
(``DRILLBOOK_K3S_IMAGE``, default ``rancher/k3s:latest``), and the scenario's images, built locally, are imported
into the cluster's containerd (``docker save IMAGE | docker exec -i CONTAINER ctr images import -``).

The last bring-up action, ``metrics``, is the sandbox's Prometheus: it scrapes the pods and the node's cAdvisor
through the API server the container publishes on the host's loopback (:mod:`drillbook.platform.prometheus.modes`);
a Docker engine elsewhere publishes it off loopback, and then Prometheus is left out, with that reason.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import ClusterError
from drillbook.journal import Platform
from drillbook.platform.bringup import Action, BringUp, Facts, UndoSpec
from drillbook.platform.endpoint_access import EndpointAccess
from drillbook.platform.kind import images_to_load
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.prometheus import PrometheusAction
from drillbook.platform.prometheus.bringup import cluster_metrics_action
from drillbook.scenario import load_scenario

_counter = itertools.count(1)
DEFAULT_IMAGE = "rancher/k3s:latest"
IMPORT_TIMEOUT_S = 300.0


def k3s_image() -> str:
    """The k3s image to run (it must be in the local engine: nothing is pulled)."""
    return os.environ.get("DRILLBOOK_K3S_IMAGE", DEFAULT_IMAGE)


def _k3s_container() -> Any:
    from testcontainers.community.k3s import K3SContainer

    return K3SContainer(image=k3s_image())


def import_images(container_id: str, images: Sequence[str]) -> None:
    """Import locally built images into the k3s node's containerd.

    Raises:
        ClusterError: an image is not in the local engine or the import failed, with the command's words.
    """
    for image in images:
        try:
            save = subprocess.run(["docker", "save", image], capture_output=True, timeout=IMPORT_TIMEOUT_S, check=False)
            if save.returncode != 0:
                raise ClusterError(f"docker save {image} failed: {save.stderr.decode(errors='replace').strip()}")
            done = subprocess.run(
                ["docker", "exec", "-i", container_id, "ctr", "images", "import", "-"],
                input=save.stdout, capture_output=True, timeout=IMPORT_TIMEOUT_S, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"importing {image} into k3s did not complete: {exc}") from exc
        if done.returncode != 0:
            raise ClusterError(f"ctr images import {image} failed: {done.stderr.decode(errors='replace').strip()}")


def provider(
    scenarios_dir: Path,
    run_dir: Path,
    container_factory: Callable[[], Any] = _k3s_container,
    importer: Callable[[str, Sequence[str]], None] = import_images,
    *,
    sandbox_type: type[KubeSandbox] = KubeSandbox,
    prometheus: Callable[[], PrometheusAction] = PrometheusAction,
    after_action: Callable[[str], None] | None = None,
) -> SandboxFactory:
    """A fresh k3s container per drill; its stop is recorded before it starts, so no failure leaks it.

    ``sandbox_type`` and ``prometheus``: a test hands in ones that run no kubectl and start no Prometheus.
    ``after_action``: called with each bring-up action's name once it finished (a test injects a failure there).
    """

    def provision(system: str) -> Sandbox:
        scenario = load_scenario(scenarios_dir / system)
        workdir = run_dir / "sandboxes" / f"k3s-{system}-{next(_counter)}"
        workdir.mkdir(parents=True, exist_ok=True)
        kubeconfig = workdir / "kubeconfig"
        kube_env = {"KUBECONFIG": str(kubeconfig)}
        container = container_factory()
        made: list[KubeSandbox] = []
        bringup = BringUp(workdir, platform=Platform.K3S.value, after_action=after_action)

        def start() -> Facts:
            container.start()
            return {"container": str(container.get_wrapped_container().id)}

        def stop() -> None:
            with contextlib.suppress(Exception):  # never started: nothing to stop
                container.stop()

        def load() -> None:
            importer(container.get_wrapped_container().id, images_to_load(scenario.manifests, scenario.images))

        def apply() -> None:
            kubeconfig.write_text(container.config_yaml(), encoding="utf-8")
            sandbox = sandbox_type(
                scenario=scenario,
                platform=Platform.K3S,
                kube_env=kube_env,
                workdir=workdir,
                access_factory=lambda api: EndpointAccess(kube_env, api),
                on_close=bringup.close,
                bringup=bringup,
            )
            made.append(sandbox)
            sandbox.apply()

        def release() -> None:
            for sandbox in made:
                sandbox.release()

        bringup.run_all(
            [
                Action("cluster", start, stop, UndoSpec("remove-container", "remove the k3s container")),
                Action("images", load),
                Action("deploy", apply, release),
                Action("wait available", lambda: made[0].wait_available()),  # noqa: PLW0108 - made[0] exists only then
                cluster_metrics_action(prometheus(), lambda: made[0], scenario, kubeconfig, workdir),
            ]
        )
        return made[0]

    return provision
