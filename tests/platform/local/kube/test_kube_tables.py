"""Server-side tables: upstream's columns, ages and the pod STATUS column."""

from __future__ import annotations

import pytest

from drillbook.platform.local.kube.tables import human_duration, pod_status_reason, table


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (50 * 3600, "2d2h"),
        (10 * 86400, "10d"),
    ],
)
def test_ages_read_like_kubectl(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def _pod(state: dict, *, deleting: bool = False, phase: str = "Running") -> dict:
    meta: dict = {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": "c"}]},
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": "c", "ready": False, "restartCount": 4, "state": state}],
        },
    }


def test_pod_status_shows_the_waiting_reason() -> None:
    assert pod_status_reason(_pod({"waiting": {"reason": "CrashLoopBackOff"}})) == "CrashLoopBackOff"
    assert pod_status_reason(_pod({"waiting": {"reason": "ImagePullBackOff"}}, phase="Pending")) == "ImagePullBackOff"


def test_pod_status_shows_terminated_reason_and_terminating() -> None:
    assert pod_status_reason(_pod({"terminated": {"reason": "Completed", "exitCode": 0}})) == "Completed"
    assert pod_status_reason(_pod({"terminated": {"exitCode": 137, "signal": 9}})) == "Signal:9"
    assert pod_status_reason(_pod({"running": {}}, deleting=True)) == "Terminating"


def test_pod_table_has_upstream_columns_and_wide_ones_at_priority_one() -> None:
    out = table("Pod", [_pod({"waiting": {"reason": "CrashLoopBackOff"}})], resource_version="7")
    names = [c["name"] for c in out["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert out["rows"][0]["cells"][:4] == ["p", "0/1", "CrashLoopBackOff", "4"]
    assert out["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_table_embeds_the_full_object_when_asked() -> None:
    obj = {"metadata": {"name": "x"}, "data": {"a": "b"}}
    out = table("ConfigMap", [obj], resource_version="1", include="Object")
    assert out["rows"][0]["object"] == obj
    assert out["rows"][0]["cells"][1] == 1
