"""How fast the sandbox's Prometheus comes up (the metrics bring-up action's own cost).

Prints: the median and worst start-to-ready time (``GET /-/ready`` answering 200) of Debian's ``prometheus`` with
drillbook's generated config (1 s scrapes of one loopback target, a fresh TSDB directory each time), against
the 1.5 s budget. Bounded: a fixed number of starts, each with the server's own start timeout.

Run: ``.venv/bin/python bench/bench_prometheus.py``
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from drillbook.platform.prometheus.config import ScrapeJob, render_config
from drillbook.platform.prometheus.process import prometheus_process

REPEATS = 7
BUDGET_S = 1.5


def start_once(base: Path) -> float:
    """Start Prometheus once on a fresh storage directory; seconds until it was ready."""
    server = prometheus_process(base / "prometheus.yml", base / "tsdb", base / "prometheus.log")
    config = render_config([ScrapeJob("prometheus", static=(f"127.0.0.1:{server.port}",))])
    (base / "prometheus.yml").write_text(config, encoding="utf-8")
    began = time.monotonic()
    try:
        server.start()
        return time.monotonic() - began
    finally:
        server.stop()


def main() -> None:
    """Run the benchmark and print its numbers."""
    times: list[float] = []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory(prefix="drillbook-bench-prometheus-") as tmp:
            times.append(start_once(Path(tmp)))
    median, worst = statistics.median(times), max(times)
    verdict = "within" if worst < BUDGET_S else "OVER"
    print(f"prometheus start-to-ready: median {median * 1000:.0f} ms, worst {worst * 1000:.0f} ms "
          f"over {REPEATS} starts ({verdict} the {BUDGET_S:g} s budget)")  # fmt: skip


if __name__ == "__main__":
    main()
