"""Small Kubernetes operations faults share, through the real ``kubernetes`` client only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kubernetes import client, config

from drillbook.errors import FaultInjectionError
from drillbook.faults.target import Workload

JsonObj = dict[str, Any]


@contextmanager
def api(kube_env: Mapping[str, str]) -> Iterator[Any]:
    """An ``ApiClient`` for the sandbox's kubeconfig, closed afterwards."""
    kubeconfig = kube_env.get("KUBECONFIG")
    if not kubeconfig:
        raise FaultInjectionError("no KUBECONFIG for the sandbox: the fault cannot reach the cluster")
    api_client = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    try:
        yield api_client
    finally:
        api_client.close()


def read_deployment(api_client: Any, workload: Workload) -> JsonObj:
    """The deployment as plain JSON."""
    apps = client.AppsV1Api(api_client)
    try:
        deployment = apps.read_namespaced_deployment(workload.name, workload.namespace)
    except client.ApiException as exc:
        raise FaultInjectionError(
            f"deployment {workload.namespace}/{workload.name} could not be read: {exc.status} {exc.reason}"
        ) from exc
    data: JsonObj = api_client.sanitize_for_serialization(deployment)
    return data


def container_index(deployment: JsonObj, container: str | None) -> int:
    """Index of the named container (or the first) in the deployment's pod template."""
    containers = deployment["spec"]["template"]["spec"]["containers"]
    if container is None:
        return 0
    for index, item in enumerate(containers):
        if item.get("name") == container:
            return index
    names = ", ".join(c.get("name", "?") for c in containers)
    raise FaultInjectionError(f"no container {container!r} in the deployment; it has: {names}")


def patch_deployment(api_client: Any, workload: Workload, body: Any) -> None:
    """Patch a deployment: a list body is a JSON patch, a dict a strategic merge patch."""
    apps = client.AppsV1Api(api_client)
    try:
        apps.patch_namespaced_deployment(workload.name, workload.namespace, body)
    except client.ApiException as exc:
        raise FaultInjectionError(
            f"deployment {workload.namespace}/{workload.name} could not be patched: {exc.status} {exc.body}"
        ) from exc


def restore_template(api_client: Any, namespace: str, name: str, template: JsonObj) -> None:
    """Put a recorded pod template back: a real rollout, like ``kubectl rollout undo``."""
    apps = client.AppsV1Api(api_client)
    patch = [{"op": "replace", "path": "/spec/template", "value": template}]
    try:
        apps.patch_namespaced_deployment(name, namespace, patch)
    except client.ApiException as exc:
        if exc.status == 404:
            return  # the deployment is gone: nothing left to restore
        raise


def scale(api_client: Any, namespace: str, name: str, replicas: int) -> None:
    """Set a deployment's replica count through its scale subresource."""
    apps = client.AppsV1Api(api_client)
    apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})


def pods(api_client: Any, workload: Workload) -> list[JsonObj]:
    """The workload's pods, as plain JSON."""
    core = client.CoreV1Api(api_client)
    listing = core.list_namespaced_pod(workload.namespace, label_selector=workload.selector)
    items: list[JsonObj] = api_client.sanitize_for_serialization(listing)["items"]
    return items
