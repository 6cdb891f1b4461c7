"""Patch semantics: JSON merge patch, JSON patch, and strategic merge as kubectl uses them."""

from __future__ import annotations

import pytest

from drillbook.platform.local.kube.patch import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_PATCH,
    apply_patch,
    json_patch,
    merge_patch,
    strategic_merge,
)
from drillbook.platform.local.kube.status import ApiStatusError


def _deployment() -> dict:
    return {
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "web:1",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        },
                        {"name": "side", "image": "side:1"},
                    ]
                }
            }
        },
    }


def test_merge_patch_null_deletes_and_objects_merge() -> None:
    out = merge_patch({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": None, "e": 3}, "d": [1]})
    assert out == {"a": {"c": 2, "e": 3}, "d": [1]}


def test_json_patch_add_replace_remove_and_test() -> None:
    doc = {"spec": {"replicas": 1, "items": [1, 2]}}
    out = json_patch(
        doc,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/items/-", "value": 9},
            {"op": "remove", "path": "/spec/items/0"},
            {"op": "add", "path": "/metadata", "value": {"a~b/c": 1}},
            {"op": "test", "path": "/metadata/a~0b~1c", "value": 1},
        ],
    )
    assert out == {"spec": {"replicas": 3, "items": [2, 9]}, "metadata": {"a~b/c": 1}}
    assert doc["spec"]["replicas"] == 1


def test_json_patch_on_missing_path_is_an_invalid_request() -> None:
    with pytest.raises(ApiStatusError) as exc:
        json_patch({}, [{"op": "replace", "path": "/spec/replicas", "value": 1}])
    assert exc.value.code == 422


def test_strategic_merge_updates_one_container_by_name_and_keeps_the_other() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}}}
    out = strategic_merge(_deployment(), patch)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["web:2", "side:1"]
    assert containers[0]["env"][0] == {"name": "A", "value": "1"}


def test_strategic_merge_set_env_adds_and_delete_directive_removes() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "web", "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "A"}]}
                    ]
                }
            }
        }
    }
    out = strategic_merge(_deployment(), patch)
    env = out["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}]


def test_strategic_merge_honours_set_element_order_and_retain_keys() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
                    "containers": [{"name": "web", "ports": [{"containerPort": 9090}]}],
                }
            }
        },
        "metadata": {"$retainKeys": ["name"], "name": "web"},
    }
    out = strategic_merge(_deployment(), patch)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["side", "web"]
    assert {p["containerPort"] for p in containers[1]["ports"]} == {8080, 9090}
    assert out["metadata"] == {"name": "web"}


def test_strategic_merge_replace_directive_and_null_delete() -> None:
    patch = {"metadata": {"labels": {"$patch": "replace", "tier": "fe"}}, "spec": {"template": None}}
    out = strategic_merge(_deployment(), patch)
    assert out["metadata"]["labels"] == {"tier": "fe"}
    assert "template" not in out["spec"]


def test_strategic_merge_delete_from_primitive_list() -> None:
    out = strategic_merge(
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}},
    )
    assert out["metadata"]["finalizers"] == ["b", "c"]


def test_apply_patch_dispatches_on_content_type_and_refuses_unknown_types() -> None:
    assert apply_patch({"a": 1}, {"a": 2}, MERGE_PATCH + "; charset=utf-8") == {"a": 2}
    assert apply_patch({"a": 1}, [{"op": "remove", "path": "/a"}], JSON_PATCH) == {}
    assert apply_patch({"a": [1]}, {"a": [2]}, STRATEGIC_PATCH) == {"a": [2]}
    with pytest.raises(ApiStatusError) as exc:
        apply_patch({}, {}, "text/plain")
    assert exc.value.code == 415
