"""The store: resourceVersions, generation, watch replay and 410 Gone."""

from __future__ import annotations

import asyncio

import pytest

from drillbook.platform.local.kube import events as events_module
from drillbook.platform.local.kube import store as store_module
from drillbook.platform.local.kube.events import EventRecorder
from drillbook.platform.local.kube.status import ApiStatusError
from drillbook.platform.local.kube.store import Store


def _store() -> Store:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "default"}})
    return store


def test_create_stamps_uid_version_and_generation_and_refuses_duplicates() -> None:
    store = _store()
    obj = store.create("configmaps", {"metadata": {"name": "c"}, "data": {}})
    assert obj["metadata"]["uid"]
    assert obj["metadata"]["namespace"] == "default"
    assert int(obj["metadata"]["resourceVersion"]) > 0
    with pytest.raises(ApiStatusError) as exc:
        store.create("configmaps", {"metadata": {"name": "c"}})
    assert exc.value.to_status()["reason"] == "AlreadyExists"
    assert exc.value.to_status()["message"] == 'configmaps "c" already exists'


def test_create_in_a_missing_namespace_is_not_found() -> None:
    with pytest.raises(ApiStatusError) as exc:
        _store().create("pods", {"metadata": {"name": "p", "namespace": "nope"}, "spec": {}})
    assert exc.value.code == 404
    assert exc.value.message == 'namespaces "nope" not found'


def test_spec_change_bumps_generation_but_status_change_does_not() -> None:
    store = _store()
    d = store.create("deployments", {"metadata": {"name": "d"}, "spec": {"replicas": 1}})
    d["spec"]["replicas"] = 2
    d = store.update("deployments", d)
    assert d["metadata"]["generation"] == 2
    d["status"] = {"replicas": 2}
    assert store.update("deployments", d)["metadata"]["generation"] == 2


def test_stale_resource_version_conflicts_on_checked_update() -> None:
    store = _store()
    c = store.create("configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    store.update("configmaps", {**c, "data": {"a": "2"}})
    with pytest.raises(ApiStatusError) as exc:
        store.update("configmaps", {**c, "data": {"a": "3"}}, check_rv=True)
    assert exc.value.to_status()["reason"] == "Conflict"


def test_watch_replays_changes_after_a_version_and_then_streams_new_ones() -> None:
    async def scenario() -> list[str]:
        store = _store()
        first = store.create("configmaps", {"metadata": {"name": "a"}})
        store.create("configmaps", {"metadata": {"name": "b"}})
        watcher, replay = store.watch("configmaps", first["metadata"]["resourceVersion"])
        store.remove("configmaps", "default", "a")
        live = await asyncio.wait_for(watcher.queue.get(), 1)
        return [f"{e.type}:{e.obj['metadata']['name']}" for e in [*replay, live]]

    assert asyncio.run(scenario()) == ["ADDED:b", "DELETED:a"]


def test_watch_from_zero_lists_current_objects_as_added() -> None:
    async def scenario() -> list[str]:
        store = _store()
        store.create("configmaps", {"metadata": {"name": "a"}})
        _watcher, replay = store.watch("configmaps", "0")
        return [e.type for e in replay]

    assert asyncio.run(scenario()) == ["ADDED"]


def test_watch_from_a_version_older_than_history_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "HISTORY_SIZE", 3)

    async def scenario() -> None:
        store = _store()
        for n in range(10):
            store.create("configmaps", {"metadata": {"name": f"c{n}"}})
        store.watch("configmaps", "2")

    with pytest.raises(ApiStatusError) as exc:
        asyncio.run(scenario())
    assert exc.value.code == 410


def test_repeated_events_aggregate_and_old_ones_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "MAX_EVENTS", 3)
    store = _store()
    pod = store.create("pods", {"metadata": {"name": "p"}, "spec": {}})
    recorder = EventRecorder(store)
    for _ in range(3):
        recorder.record(pod, "Warning", "BackOff", "Back-off restarting failed container", "kubelet")
    (event,) = store.list("events", "default")
    assert event["count"] == 3
    assert event["source"] == {"component": "kubelet", "host": "localkube"}
    assert event["involvedObject"]["uid"] == pod["metadata"]["uid"]
    for n in range(5):
        recorder.record(pod, "Normal", "Pulled", f"pull {n}", "kubelet")
    assert [e["message"] for e in store.list("events", "default")] == ["pull 2", "pull 3", "pull 4"]


def test_a_view_reads_the_stored_objects_in_list_order_and_updates_never_change_what_it_returned() -> None:
    store = _store()
    for name in ("b", "a"):
        store.create("configmaps", {"metadata": {"name": name}, "data": {"k": name}})
    view = store.view("configmaps", "default")
    assert view == store.list("configmaps", "default")
    assert [o["metadata"]["name"] for o in view] == ["a", "b"]
    changed = store_module.json_copy(view[0])
    changed["data"]["k"] = "changed"
    store.update("configmaps", changed)
    assert view[0]["data"] == {"k": "a"}, "an update stores a new object; the one a view returned stays as it was"
    assert store.view("configmaps", "default")[0]["data"] == {"k": "changed"}


def test_json_copy_is_deep_and_falls_back_for_what_marshal_cannot_carry() -> None:
    tree = {"a": [{"b": 1.5, "c": None, "d": True}], "e": "text"}
    copied = store_module.json_copy(tree)
    assert copied == tree
    assert copied["a"][0] is not tree["a"][0]

    class Odd:
        pass

    odd = {"x": [Odd()]}
    assert isinstance(store_module.json_copy(odd)["x"][0], Odd)
    assert store_module.json_copy(odd)["x"] is not odd["x"]
