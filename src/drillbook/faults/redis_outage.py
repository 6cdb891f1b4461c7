"""``redis-outage``: Redis goes away.

Modes (parameter ``mode``):

* ``stop`` (default) — the Redis deployment is scaled to zero: Redis is down until someone brings it
  back. Revert: scale back to the recorded replica count.
* ``proxy`` — the fault proxy in front of Redis is disabled (connections refused). Revert: enable it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import ClassVar

from drillbook.errors import FaultInjectionError
from drillbook.faults import _kube, _toxiproxy
from drillbook.faults.base import Fault, JsonValue, RevertRecord, register
from drillbook.faults.params import Param
from drillbook.faults.target import Workload


@register
class RedisOutage(Fault):
    """Take Redis away from the app."""

    name: ClassVar[str] = "redis-outage"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate",)
    summary: ClassVar[str] = "Redis stopped (mode stop: scaled to zero) or cut off (mode proxy)"
    parameters: ClassVar[tuple[Param, ...]] = (
        Param(
            "mode",
            "str",
            "stop scales Redis to zero; proxy disables its fault proxy",
            "stop",
            choices=("stop", "proxy"),
        ),
    )

    def revert_record(self) -> RevertRecord:
        mode = self.text("mode")
        if mode == "stop":
            redis = self.require(self.target.redis, "a Redis deployment")
            with _kube.api(self.target.kube_env) as api_client:
                replicas = int(_kube.read_deployment(api_client, redis)["spec"].get("replicas", 1))
            return RevertRecord(
                self.name,
                f"scale deployment {redis.namespace}/{redis.name} back to {replicas}",
                {
                    "mode": mode,
                    "kube_env": dict(self.target.kube_env),
                    "namespace": redis.namespace,
                    "name": redis.name,
                    "replicas": replicas,
                },
            )
        if mode == "proxy":
            url = self.require(self.target.toxiproxy_url, "a fault proxy")
            proxy = self.require(self.target.proxies.get("redis"), "a fault proxy in front of Redis")
            return RevertRecord(self.name, "enable the Redis proxy again", {"mode": mode, "url": url, "proxy": proxy})
        raise FaultInjectionError(f"redis-outage: mode must be 'stop' or 'proxy', got {mode!r}")

    def apply(self) -> None:
        record = self._record
        assert record is not None
        spec = record.spec
        if spec["mode"] == "stop":
            with _kube.api(self.target.kube_env) as api_client:
                _kube.scale(api_client, str(spec["namespace"]), str(spec["name"]), 0)
        else:
            _toxiproxy.proxy(str(spec["url"]), str(spec["proxy"])).disable()

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        if spec.get("mode") == "stop":
            kube_env, replicas = spec.get("kube_env"), spec.get("replicas")
            if isinstance(kube_env, dict) and isinstance(replicas, int):
                with _kube.api(kube_env) as api_client:
                    deployment = _kube.read_deployment(api_client, Workload(str(spec["namespace"]), str(spec["name"])))
                    # Only scale up when still down: an operator may already have brought Redis back.
                    if int(deployment["spec"].get("replicas", 0)) == 0:
                        _kube.scale(api_client, str(spec["namespace"]), str(spec["name"]), replicas)
        elif spec.get("mode") == "proxy":
            with contextlib.suppress(Exception):
                _toxiproxy.proxy(str(spec["url"]), str(spec["proxy"])).enable()
