"""A provisioned sandbox under traffic and an SLO monitor, shared by the fault-proxy tests of each platform."""

from __future__ import annotations

import time

from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.slo.checks import check_from_text
from drillbook.slo.monitor import Breach, Monitor, MonitorSettings

BASELINE_HOLD_S = 6.0
"""How long the SLOs must hold before a test injects anything."""
BASELINE_TIMEOUT_S = 60.0
"""How long a fresh sandbox may take to get there: its first windows can be slow while pools and caches warm up,
more so on a machine shared with another test worker."""


class Watched:
    """A provisioned sandbox with traffic and an SLO monitor."""

    def __init__(self, sandbox: KubeSandbox) -> None:
        self.sandbox = sandbox
        checks = [check_from_text("error rate < 1%"), check_from_text("p95 latency < 500ms")]
        self.monitor = Monitor(checks, MonitorSettings(window_s=2.0, tick_s=0.25, hold_s=3.0, lag_s=0.25))
        self.traffic = sandbox.start_traffic(8, self.monitor.record)

    def settle(self) -> None:
        """Wait until every SLO has held for ``BASELINE_HOLD_S``, as a drill's baseline phase does.

        A warm-up breach is not a fault: a test that asserted no breach at all in the first seconds failed on a
        loaded CI machine while the app's first requests were still slow.
        """
        deadline = time.monotonic() + BASELINE_TIMEOUT_S
        while time.monotonic() < deadline:
            self.monitor.poll()
            if not self.monitor.breached and self.monitor.holding_for() >= BASELINE_HOLD_S:
                return
            time.sleep(0.2)
        raise AssertionError(
            f"the baseline never held for {BASELINE_HOLD_S:g} s in {BASELINE_TIMEOUT_S:g} s; last windows: "
            f"{self.monitor.history[-3:]}"
        )

    def sees(self, kind: type, timeout_s: float) -> bool:
        """Whether a new event of ``kind`` arrives within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        seen = sum(isinstance(e, kind) for e in self.monitor.events)
        while time.monotonic() < deadline:
            self.monitor.poll()
            if sum(isinstance(e, kind) for e in self.monitor.events) > seen:
                return True
            time.sleep(0.2)
        return False

    def breached(self) -> list[str]:
        """The checks of every breach so far."""
        return [e.check.text for e in self.monitor.events if isinstance(e, Breach)]
