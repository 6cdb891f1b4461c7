"""Time to a ready sandbox on the local and docker platforms, per bring-up action, with images cached.

Brings zephyr-voting (the smallest seed) up and down N times on each platform (default 2) and prints the median
seconds per bring-up action, as each sandbox journals them (``bringup.jsonl``: :mod:`drillbook.platform.bringup`),
the wall time to ready and to teardown, then the docker/local ratio of the time to ready. On docker the datastore
containers start in the background ("datastores" is only their launch) while the cluster and the proxy come up;
"datastores ready" is what is left to wait for them. Goal: docker within 2x of local. Bounded: N bring-ups per
platform, each with the providers' own timeouts; the docker images are built first when missing
(``drillbook images build``; not timed). A dockerd the bench had to start is stopped at the end.
"metrics" is the whole Prometheus bring-up action (exporters, targets and the server) and "prometheus ready" its
server's start until ``/-/ready`` answers, on both platforms: budget 1.5 s for the action.

Run: ``.venv/bin/python bench/bench_sandbox.py [N]``
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drillbook.errors import SandboxError
from drillbook.platform.docker import DockerEngine, build_images
from drillbook.platform.docker.provider import provision_docker
from drillbook.platform.local.sandbox import provision_local
from drillbook.platform.prometheus import PrometheusAction

ZEPHYR = Path(__file__).resolve().parents[1] / "scenarios" / "zephyr-voting"
PROMETHEUS_BUDGET_S = 1.5

Timings = dict[str, float]


@contextmanager
def ready_of_prometheus(into: Timings) -> Iterator[None]:
    """Record ``PrometheusAction.prometheus_ready_s`` (the server's own start-to-ready) as "prometheus ready"."""
    original = PrometheusAction.up

    def up(self: PrometheusAction, context: Any) -> PrometheusAction:
        try:
            return original(self, context)
        finally:
            if self.prometheus_ready_s is not None:
                into["prometheus ready"] = self.prometheus_ready_s

    PrometheusAction.up = up  # type: ignore[method-assign]
    try:
        yield
    finally:
        PrometheusAction.up = original  # type: ignore[method-assign]


def bring_up(platform: str, run_dir: Path) -> Timings:
    """One bring-up and teardown: each action's seconds, the time to ready and the teardown's."""
    provision = provision_docker if platform == "docker" else provision_local
    started = time.perf_counter()
    seen: Timings = {}
    with ready_of_prometheus(seen):
        sandbox = provision(ZEPHYR, run_dir)
    ready = time.perf_counter() - started
    assert sandbox.bringup is not None
    timings = dict(sandbox.bringup.seconds)
    started = time.perf_counter()
    sandbox.close()
    return {**timings, **seen, "ready": ready, "teardown": time.perf_counter() - started}


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    engine = DockerEngine()
    handle = engine.ensure()
    try:
        build_images(lambda line: print(f"images: {line}", flush=True))
        medians: dict[str, dict[str, float]] = {}
        order: list[str] = []
        failed: dict[str, int] = {}
        with tempfile.TemporaryDirectory(prefix="drillbook-bench-sandbox-") as tmp:
            for platform in ("local", "docker"):
                runs: defaultdict[str, list[float]] = defaultdict(list)
                for i in range(repeats):
                    try:
                        timings = bring_up(platform, Path(tmp) / f"{platform}-{i}")
                    except SandboxError as exc:  # a loaded machine can fail a bring-up: say so, count it, go on
                        failed[platform] = failed.get(platform, 0) + 1
                        print(f"{platform} bring-up {i + 1} failed: {str(exc).splitlines()[0]}", flush=True)
                        continue
                    print(f"{platform} bring-up {i + 1}: ready in {timings['ready']:.1f} s", flush=True)
                    for action, seconds in timings.items():
                        runs[action].append(seconds)
                        if action not in order:
                            order.append(action)
                medians[platform] = {action: statistics.median(values) for action, values in runs.items()}
    finally:
        if handle.started_now:
            engine.stop_if_ours()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"zephyr-voting, median of the bring-ups that came up, of {repeats} per platform (seconds); "
        f"load average {load} on {os.cpu_count()} cores"
    )
    print(f"{'action':<18}{'local':>9}{'docker':>9}")
    actions = [a for a in order if a not in ("ready", "teardown")] + ["ready", "teardown"]
    for action in actions:
        local = medians["local"].get(action)
        docker = medians["docker"].get(action)
        cells = "".join(f"{'-' if v is None else f'{v:.2f}':>9}" for v in (local, docker))
        print(f"{action:<18}{cells}")
    print("(docker's datastores start in the background, beside the cluster and the proxy: their seconds overlap)")
    for platform, count in failed.items():
        print(f"{platform}: {count} of {repeats} bring-ups failed (their figures are left out)")
    for platform in ("local", "docker"):
        action = medians.get(platform, {}).get("metrics")
        if action is not None:
            within = "within" if action < PROMETHEUS_BUDGET_S else "OVER"
            ready = medians[platform].get("prometheus ready")
            server = "" if ready is None else f" (the server ready in {ready:.2f} s)"
            print(f"{platform}: Prometheus as a bring-up action: {action:.2f} s{server}, {within} the 1.5 s budget")
    if "ready" not in medians["docker"] or "ready" not in medians["local"]:
        print("no ratio: a platform had no successful bring-up")
        return 1
    ratio = medians["docker"]["ready"] / medians["local"]["ready"]
    verdict = "within" if ratio <= 2.0 else "NOT within"
    print(f"docker/local time to ready: {ratio:.2f}x ({verdict} the 2x goal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
