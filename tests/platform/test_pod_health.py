"""Which waiting pods a bring-up gives up on at once, and which it keeps waiting for."""

from __future__ import annotations

from typing import Any

import pytest

from drillbook.platform.pod_health import CRASH_LOOP_RESTARTS, by_cause, describe_group, selects, stuck_containers

MISSING = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: "
    'unable to start container process: exec: "api-server": executable file not found in $PATH: unknown'
)


def _pod(*statuses: dict[str, Any], init: list[dict[str, Any]] | None = None, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "api-7c9-x1", "namespace": "production", "labels": {"app": "api"}}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-02T02:00:00Z"
    return {"metadata": meta, "status": {"containerStatuses": list(statuses), "initContainerStatuses": init or []}}


def _waiting(reason: str, message: str = "", restarts: int = 0, last: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": "api",
        "image": "azora/api:1",
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason, "message": message}},
        "lastState": {"terminated": last} if last else {},
    }


@pytest.mark.parametrize(
    "reason", ["CreateContainerError", "RunContainerError", "ErrImagePull", "ImagePullBackOff", "InvalidImageName"]
)
def test_a_wait_that_only_a_new_spec_can_end_is_stuck_and_named_with_its_cause(reason: str) -> None:
    [stuck] = stuck_containers([_pod(_waiting(reason, MISSING))])
    assert (stuck.namespace, stuck.pod, stuck.container, stuck.reason) == ("production", "api-7c9-x1", "api", reason)
    assert stuck.describe() == f"pod production/api-7c9-x1, container api (image azora/api:1): {reason}: {MISSING}"


@pytest.mark.parametrize("reason", ["ContainerCreating", "PodInitializing", "CreateContainerConfigError"])
def test_a_start_that_time_or_a_later_object_can_finish_is_not_stuck(reason: str) -> None:
    assert stuck_containers([_pod(_waiting(reason))]) == []


def test_running_and_ready_containers_are_not_stuck() -> None:
    running = {"name": "api", "image": "x", "restartCount": 0, "state": {"running": {"startedAt": "t"}}}
    assert stuck_containers([_pod(running), {"metadata": {"name": "bare"}}]) == []


def test_a_crash_loop_is_given_a_few_restarts_before_it_counts_as_broken() -> None:
    crashed = {"exitCode": 1, "reason": "Error"}
    early = _waiting("CrashLoopBackOff", "back-off 40s", restarts=CRASH_LOOP_RESTARTS - 1, last=crashed)
    assert stuck_containers([_pod(early)]) == []
    late = _waiting("CrashLoopBackOff", "back-off 80s", restarts=CRASH_LOOP_RESTARTS, last=crashed)
    [stuck] = stuck_containers([_pod(late)])
    assert stuck.describe().endswith(f"CrashLoopBackOff after {CRASH_LOOP_RESTARTS} restarts: last exit code 1")


def test_a_crash_loop_of_a_start_the_runtime_refused_is_stuck_at_once_with_the_runtimes_words() -> None:
    # containerd reports a missing command as a StartError termination, then the kubelet backs off.
    refused = _waiting("CrashLoopBackOff", "back-off 10s", restarts=1, last={"exitCode": 128, "reason": "StartError",
                                                                            "message": MISSING})  # fmt: skip
    [stuck] = stuck_containers([_pod(refused)])
    assert stuck.reason == "CrashLoopBackOff (StartError)"
    assert stuck.message == MISSING


def test_init_containers_are_read_too_and_a_pod_being_deleted_is_not() -> None:
    init = [_waiting("ErrImagePull", "not found") | {"name": "migrate"}]
    assert [s.container for s in stuck_containers([_pod(init=init)])] == ["migrate"]
    assert stuck_containers([_pod(_waiting("RunContainerError", MISSING), deleting=True)]) == []


def test_a_deployment_selector_matches_labels_and_expressions() -> None:
    labels = {"app": "api", "tier": "web"}
    assert selects({"matchLabels": {"app": "api"}}, labels)
    assert not selects({"matchLabels": {"app": "worker"}}, labels)
    assert selects({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, labels)
    assert selects({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}, labels)


def test_replicas_that_fail_alike_are_named_once_with_the_other_pods() -> None:
    pods = [_pod(_waiting("RunContainerError", MISSING)) for _ in range(3)]
    for index, pod in enumerate(pods):
        pod["metadata"]["name"] = f"api-{index}"
    pods.append(_pod(_waiting("ErrImagePull", "not found") | {"name": "sidecar"}))
    groups = by_cause(stuck_containers(pods))
    assert [len(g) for g in groups] == [3, 1]
    assert describe_group(groups[0]).endswith(f"{MISSING} (the same in pods production/api-1, production/api-2)")
    assert "(the same" not in describe_group(groups[1])


def test_a_crash_loop_of_liveness_kills_is_slowness_not_a_broken_image() -> None:
    # A loaded machine: the probe timed out and the kubelet killed the container; it is not the image's fault.
    killed = _waiting("CrashLoopBackOff", "back-off 80s", restarts=8, last={"exitCode": 137, "reason": "Error"})
    assert stuck_containers([_pod(killed)]) == []
    oom = _waiting("CrashLoopBackOff", "back-off 80s", restarts=8, last={"exitCode": 137, "reason": "OOMKilled"})
    assert [s.message for s in stuck_containers([_pod(oom)])] == ["last exit code 137"]
