"""core/v1 Events, aggregated like upstream's recorder (count, firstTimestamp, lastTimestamp)."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from drillbook.platform.local.kube.resources import BY_KIND
from drillbook.platform.local.kube.store import Store, now_rfc3339

JsonObj = dict[str, Any]
NODE_NAME = "localkube"
#: Events kept before the oldest are dropped (upstream expires them after an hour; drills are shorter).
MAX_EVENTS = 3000


class EventRecorder:
    """Creates Events about objects, bumping ``count`` when the same event repeats."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._names: dict[tuple[str, ...], str] = {}
        self._order: deque[tuple[str, str]] = deque()

    def record(self, involved: JsonObj, type_: str, reason: str, message: str, component: str) -> None:
        """Record one occurrence of an event about ``involved``."""
        meta = involved.get("metadata") or {}
        kind = involved.get("kind", "")
        res = BY_KIND.get(kind)
        namespace = meta.get("namespace") or "default"
        if self._store.get("namespaces", "", namespace) is None:
            return
        key = (namespace, meta.get("uid", ""), type_, reason, message, component)
        now = now_rfc3339()
        name = self._names.get(key)
        existing = self._store.get("events", namespace, name) if name else None
        if existing is not None:
            existing["count"] = int(existing.get("count") or 1) + 1
            existing["lastTimestamp"] = now
            self._store.update("events", existing)
            return
        # Upstream names events <object>.<hex unix nanos>, so names sort by creation time.
        name = f"{meta.get('name', 'unknown')}.{time.time_ns():x}"
        self._names[key] = name
        event: JsonObj = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "kind": kind,
                "namespace": meta.get("namespace", ""),
                "name": meta.get("name", ""),
                "uid": meta.get("uid", ""),
                "apiVersion": res.api_version if res else involved.get("apiVersion", "v1"),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "source": {"component": component, "host": NODE_NAME}
            if component == "kubelet"
            else {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": NODE_NAME if component == "kubelet" else "",
        }
        if not meta.get("namespace"):
            event["involvedObject"].pop("namespace")
        self._store.create("events", event)
        self._order.append((namespace, name))
        while len(self._order) > MAX_EVENTS:
            self._store.remove("events", *self._order.popleft())
