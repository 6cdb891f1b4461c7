"""``bad-release``: roll out the release ``tag`` of the app — one the scenario's image map says is broken
(errors on a share of requests, slow, crashes at start). Healed by ``kubectl rollout undo``; reverted by
putting the recorded pod template back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from drillbook.faults.base import register
from drillbook.faults.crashloop import Crashloop
from drillbook.faults.params import Param
from drillbook.faults.target import FaultTarget


@register
class BadRelease(Crashloop):
    """Deploy a named bad release."""

    name: ClassVar[str] = "bad-release"
    symptoms: ClassVar[tuple[str, ...]] = ("error_rate", "latency_p95")
    summary: ClassVar[str] = "roll out the app's release tag (a broken build named in the image map)"
    persists_until_reverted: ClassVar[bool] = True
    """No controller rolls a Deployment back by itself: the broken build serves (or crashloops) until a rollback,
    a new image or drillbook's revert. A pod that keeps restarting never counts as settled, so it keeps the watch."""
    parameters: ClassVar[tuple[Param, ...]] = (
        Param("tag", "str", "the release rolled out, as the scenario's image map names it", required=True),
        Param(
            "mode", "str", "always release (this fault is crashloop's release mode)", "release", choices=("release",)
        ),
    )

    def __init__(
        self, target: FaultTarget | None = None, params: Mapping[str, str] | None = None, **kwargs: object
    ) -> None:
        super().__init__(target, {"mode": "release", **(params or {})}, **kwargs)  # type: ignore[arg-type]
