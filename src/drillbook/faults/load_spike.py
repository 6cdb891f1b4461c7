"""``load-spike``: the traffic generator's users multiplied (``factor``, default 5) until reverted.

The spike lasts while the fault is active; ``duration_s`` is not needed because the drill reverts
the fault after the runbook's steps. Revert: back to the users it had before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from drillbook.faults.base import Fault, JsonValue, RevertRecord, register
from drillbook.faults.params import Param


@register
class LoadSpike(Fault):
    """Multiply the simulated users."""

    name: ClassVar[str] = "load-spike"
    symptoms: ClassVar[tuple[str, ...]] = ("latency_p95", "error_rate")
    summary: ClassVar[str] = "multiply the traffic generator's users by factor (default 5)"
    parameters: ClassVar[tuple[Param, ...]] = (
        Param("factor", "int", "how many times the steady users the spike brings (1 would be no spike)", 5, min=2),
    )

    def revert_record(self) -> RevertRecord:
        traffic = self.require(self.target.traffic, "running traffic")
        self._before = traffic.users
        return RevertRecord(self.name, f"set the traffic back to {self._before} users", {"users": self._before})

    def apply(self) -> None:
        traffic = self.require(self.target.traffic, "running traffic")
        traffic.set_users(self._before * self.integer("factor"))

    def undo(self) -> None:
        if self.target.traffic is not None:
            self.target.traffic.set_users(self._before)

    @classmethod
    def undo_from_spec(cls, spec: Mapping[str, JsonValue]) -> None:
        # The traffic generator dies with the run that owned it: nothing is left to undo in another process.
        return
