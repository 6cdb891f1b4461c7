"""The object store: plain JSON objects, one resourceVersion counter, and a bounded history for watches."""

from __future__ import annotations

import asyncio
import builtins
import copy
import marshal
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

from drillbook.platform.local.kube.resources import by_plural
from drillbook.platform.local.kube.status import ApiStatusError, already_exists, conflict, not_found

JsonObj = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED"]
Listener = Callable[[str, EventType, JsonObj], None]
_T = TypeVar("_T")

#: How many changes a watch can replay; older resourceVersions get 410 Gone.
HISTORY_SIZE = 20000


def json_copy(obj: _T) -> _T:
    """A deep copy of a JSON-shaped object (dicts, lists, strings, numbers, booleans, None).

    Every read of the store copies, and the controllers read every pod on each pass: ``marshal`` round-trips such
    trees about five times faster than :func:`copy.deepcopy`, which kept localkube's event loop (and so every Service
    connection) busy through a scale-out. Anything marshal cannot carry falls back to ``deepcopy``.
    """
    try:
        return cast(_T, marshal.loads(marshal.dumps(cast(Any, obj))))
    except ValueError:
        return copy.deepcopy(obj)


def now_rfc3339() -> str:
    """Current time as the API prints it (second precision, Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    """Parse an RFC 3339 timestamp as the API writes it; None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class WatchEvent:
    """One change, as a watch stream reports it."""

    rv: int
    resource: str
    type: EventType
    obj: JsonObj


@dataclass(eq=False)
class Watcher:
    """A subscription to one resource's changes; the server drains ``queue``."""

    resource: str
    queue: asyncio.Queue[WatchEvent] = field(default_factory=asyncio.Queue)


class Store:
    """In-memory objects keyed by (resource, namespace, name), with watch history."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[tuple[str, str], JsonObj]] = {}
        self._rv = 1
        self._history: deque[WatchEvent] = deque(maxlen=HISTORY_SIZE)
        self._watchers: set[Watcher] = set()
        self._listeners: list[Listener] = []

    # -- reading (also the kubelet's ObjectLookup) --------------------------------------------------------------
    @property
    def resource_version(self) -> str:
        """The newest resourceVersion, as lists report it."""
        return str(self._rv)

    def get(self, resource: str, namespace: str, name: str) -> JsonObj | None:
        """A copy of one object, or None."""
        obj = self._objects.get(resource, {}).get((namespace, name))
        return json_copy(obj) if obj is not None else None

    def list(self, resource: str, namespace: str | None = None) -> list[JsonObj]:
        """Copies of every object of a resource, in one namespace or all (None), sorted by namespace/name."""
        return [json_copy(obj) for obj in self.view(resource, namespace)]

    def view(self, resource: str, namespace: str | None = None) -> builtins.list[JsonObj]:
        """The stored objects themselves, ordered as :meth:`list` orders them: to read, never to change.

        The controllers read every pod on each pass; copying them all is what :meth:`list` costs. Change a
        :func:`json_copy` of an object from here, then :meth:`update` it.
        """
        items = self._objects.get(resource, {})
        return [items[k] for k in sorted(k for k in items if namespace is None or k[0] == namespace)]

    def exists_uid(self, uid: str) -> bool:
        """Whether any object carries this uid (used by garbage collection)."""
        return uid in self.all_uids()

    def all_uids(self) -> set[str]:
        """Every uid in the store."""
        return {o["metadata"]["uid"] for objs in self._objects.values() for o in objs.values()}

    # -- writing ------------------------------------------------------------------------------------------------
    def create(self, resource: str, obj: JsonObj) -> JsonObj:
        """Store a new object: stamps uid, creationTimestamp, resourceVersion and generation."""
        res = by_plural(resource)
        obj = json_copy(obj)  # the store owns its objects; callers keep theirs
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "") if res.namespaced else ""
        if res.namespaced:
            meta["namespace"] = ns or "default"
            ns = meta["namespace"]
            if self._objects.get("namespaces", {}).get(("", ns)) is None:
                raise not_found("namespaces", ns)
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name")
        if not name:
            raise ApiStatusError(
                422,
                f"{res.kind} is invalid: metadata.name: Required value: name or generateName is required",
                reason="Invalid",
                kind=res.kind,
            )
        bucket = self._objects.setdefault(resource, {})
        if (ns, name) in bucket:
            raise already_exists(resource, name, res.group)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if "spec" in obj or res.kind in ("Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob", "Pod"):
            meta["generation"] = 1
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        self._stamp(obj)
        bucket[(ns, name)] = obj
        self._emit(resource, "ADDED", obj)
        return json_copy(obj)

    def update(self, resource: str, obj: JsonObj, *, check_rv: bool = False) -> JsonObj:
        """Replace an existing object; bumps generation when ``spec`` changed."""
        res = by_plural(resource)
        obj = json_copy(obj)
        meta = obj["metadata"]
        ns = meta.get("namespace", "") if res.namespaced else ""
        key = (ns, meta["name"])
        old = self._objects.get(resource, {}).get(key)
        if old is None:
            raise not_found(resource, meta["name"], res.group)
        if check_rv and meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise conflict(resource, meta["name"], res.group)
        for keep in ("uid", "creationTimestamp"):
            meta[keep] = old["metadata"][keep]
        if "generation" in old["metadata"]:
            gen = old["metadata"]["generation"]
            meta["generation"] = gen + 1 if obj.get("spec") != old.get("spec") else gen
        if "deletionTimestamp" in old["metadata"]:
            meta["deletionTimestamp"] = old["metadata"]["deletionTimestamp"]
            meta["deletionGracePeriodSeconds"] = old["metadata"].get("deletionGracePeriodSeconds", 0)
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        if _same(old, obj):
            return json_copy(old)
        self._stamp(obj)
        self._objects[resource][key] = obj
        self._emit(resource, "MODIFIED", obj)
        return json_copy(obj)

    def remove(self, resource: str, namespace: str, name: str) -> JsonObj | None:
        """Remove an object now and emit DELETED; returns it, or None if it was already gone."""
        obj = self._objects.get(resource, {}).pop((namespace, name), None)
        if obj is None:
            return None
        self._stamp(obj)
        self._emit(resource, "DELETED", obj)
        return json_copy(obj)

    # -- watching -----------------------------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(resource, type, obj)`` after every change (controllers use this)."""
        self._listeners.append(listener)

    def watch(self, resource: str, since: str | None) -> tuple[Watcher, builtins.list[WatchEvent]]:
        """Subscribe to changes; returns the watcher and the replay for ``since``.

        ``since`` empty or "0" replays every current object as ADDED. Raises a 410 ``ApiStatusError`` when
        ``since`` is older than the kept history.
        """
        watcher = Watcher(resource)
        replay: builtins.list[WatchEvent]
        if not since or since == "0":
            replay = [WatchEvent(self._rv, resource, "ADDED", o) for o in self.list(resource)]
        else:
            try:
                rv = int(since)
            except ValueError as exc:
                raise ApiStatusError(400, f'invalid resource version "{since}"') from exc
            oldest = self._history[0].rv if self._history else self._rv
            if rv < oldest - 1 and rv < self._rv:
                raise ApiStatusError(410, f"too old resource version: {rv} ({oldest})", reason="Expired")
            replay = [
                WatchEvent(e.rv, e.resource, e.type, json_copy(e.obj))
                for e in self._history
                if e.resource == resource and e.rv > rv
            ]
        self._watchers.add(watcher)
        return watcher, replay

    def unwatch(self, watcher: Watcher) -> None:
        """End a subscription."""
        self._watchers.discard(watcher)

    # -- internals ----------------------------------------------------------------------------------------------
    def _stamp(self, obj: JsonObj) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)

    def _emit(self, resource: str, type_: EventType, obj: JsonObj) -> None:
        event = WatchEvent(self._rv, resource, type_, json_copy(obj))
        self._history.append(event)
        for watcher in list(self._watchers):
            if watcher.resource == resource:
                watcher.queue.put_nowait(event)
        for listener in list(self._listeners):
            listener(resource, type_, event.obj)


def _same(old: JsonObj, new: JsonObj) -> bool:
    """Whether an update changes nothing but resourceVersion (then no event, like upstream's no-op updates)."""
    a = {k: v for k, v in old.items() if k != "metadata"}
    b = {k: v for k, v in new.items() if k != "metadata"}
    ma = {k: v for k, v in old["metadata"].items() if k != "resourceVersion"}
    mb = {k: v for k, v in new["metadata"].items() if k != "resourceVersion"}
    return a == b and ma == mb
