"""``latency`` and ``partition``: the network between the app and a dependency goes bad.

Both act on the Toxiproxy proxy in front of the dependency named by parameter ``dependency``
(default ``postgres``). ``latency`` adds a latency toxic (``latency_ms``, ``jitter_ms``, ``stream``);
``partition`` disables the proxy (connections refused, existing ones dropped). Revert: remove the
toxic / enable the proxy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import ClassVar

from drillbook.faults import _toxiproxy
from drillbook.faults.base import Fault, JsonValue, RevertRecord, register
from drillbook.faults.params import Param

_TOXIC = "drillbook-latency"
_DEPENDENCY = Param("dependency", "str", "the dependency whose fault proxy is used (postgres, redis)", "postgres")


class _ProxyFault(Fault):
    def proxy_name(self) -> str:
        dependency = self.text("dependency")
        name = self.target.proxies.get(dependency)
        return self.require(name, f"a fault proxy in front of {dependency!r}")

    def base_spec(self) -> dict[str, JsonValue]:
        url = self.require(self.target.toxiproxy_url, "a fault proxy (Toxiproxy API URL)")
        return {"url": url, "proxy": self.proxy_name()}


@register
class Latency(_ProxyFault):
    """Slow every byte between the app and a dependency."""

    name: ClassVar[str] = "latency"
    persists_until_reverted: ClassVar[bool] = True  # the proxy is outside the cluster: no pod reaches it
    symptoms: ClassVar[tuple[str, ...]] = ("latency_p95",)
    summary: ClassVar[str] = "latency toxic on the proxy in front of a dependency (latency_ms, jitter_ms)"
    parameters: ClassVar[tuple[Param, ...]] = (
        Param("latency_ms", "int", "the delay added", 1000, unit="ms", min=1),
        Param("jitter_ms", "int", "random variation around the delay", 0, unit="ms", min=0),
        Param("stream", "str", "the direction delayed", "downstream", choices=("downstream", "upstream")),
        _DEPENDENCY,
    )

    def revert_record(self) -> RevertRecord:
        return RevertRecord(self.name, "remove the latency toxic", self.base_spec())

    def apply(self) -> None:
        spec = self.base_spec()
        proxy = _toxiproxy.proxy(str(spec["url"]), str(spec["proxy"]))
        proxy.add_toxic(
            name=_TOXIC,
            type="latency",
            stream=self.text("stream"),
            attributes={"latency": self.integer("latency_ms"), "jitter": self.integer("jitter_ms")},
        )

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        proxy = _toxiproxy.proxy(str(spec["url"]), str(spec["proxy"]))
        if _TOXIC in (proxy.toxics() or {}):
            proxy.destroy_toxic(_TOXIC)


@register
class Partition(_ProxyFault):
    """Cut the app off from a dependency."""

    name: ClassVar[str] = "partition"
    persists_until_reverted: ClassVar[bool] = True  # the proxy is outside the cluster: no pod reaches it
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate",)
    summary: ClassVar[str] = "disable the proxy in front of a dependency (connections refused and dropped)"
    parameters: ClassVar[tuple[Param, ...]] = (_DEPENDENCY,)

    def revert_record(self) -> RevertRecord:
        return RevertRecord(self.name, "enable the proxy again", self.base_spec())

    def apply(self) -> None:
        spec = self.base_spec()
        _toxiproxy.proxy(str(spec["url"]), str(spec["proxy"])).disable()

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        with contextlib.suppress(Exception):
            _toxiproxy.proxy(str(spec["url"]), str(spec["proxy"])).enable()
