"""Time to a ready sandbox on the local and docker platforms, per bring-up action, with images cached.

Brings zephyr-voting (the smallest seed) up and down N times on each platform (default 2) and prints the median
seconds per action (cluster, datastores, fault proxy, deploy, wait until available, Prometheus, teardown) and in
all, then the docker/local ratio of the time to ready. On docker the datastore containers start in the background
while the cluster and the proxy come up, so the actions' seconds overlap; "ready" is the wall time.
Goal: docker within 2x of local. "prometheus" is the metrics bring-up action (exporters, pod targets and the server;
local only) and "prometheus ready" its server's start until ``/-/ready`` answers: budget 1.5 s. The actions are
timed by wrapping the functions that perform them, so the providers run unchanged. Bounded: N bring-ups per
platform, each with the providers' own timeouts; the docker images are built first when missing
(``drillbook images build``; not timed).

Run: ``.venv/bin/python bench/bench_sandbox.py [N]``
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drillbook.platform.docker import DockerEngine, build_images
from drillbook.platform.docker import provider as docker_provider
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local import sandbox as local_provider
from drillbook.platform.local.kube.cluster import LocalKubeProcess
from drillbook.platform.local.toxiproxy import ToxiproxyProcess
from drillbook.platform.prometheus import PrometheusAction

ZEPHYR = Path(__file__).resolve().parents[1] / "scenarios" / "zephyr-voting"
ACTIONS = ("cluster", "datastores", "fault proxy", "deploy", "wait available", "prometheus", "prometheus ready")
PROMETHEUS_BUDGET_S = 1.5

Timings = dict[str, float]


@contextmanager
def timed(target: Any, name: str, action: str, into: Timings) -> Iterator[None]:
    """Replace ``target.name`` with a wrapper that adds its wall time to ``into[action]``."""
    original: Callable[..., Any] = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[action] = into.get(action, 0.0) + time.perf_counter() - started

    setattr(target, name, wrapper)
    try:
        yield
    finally:
        setattr(target, name, original)


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
    """One bring-up and teardown; the seconds each action took."""
    into: Timings = {}
    with (
        timed(LocalKubeProcess, "start", "cluster", into),
        timed(docker_provider, "_start_postgres", "datastores", into),
        timed(docker_provider, "start_redis", "datastores", into),
        timed(ToxiproxyProcess, "start", "fault proxy", into),
        timed(KubeSandbox, "wait_available", "wait available", into),
        timed(KubeSandbox, "deploy", "deploy", into),
        timed(PrometheusAction, "up", "prometheus", into),
        ready_of_prometheus(into),
    ):
        provision = docker_provider.provision_docker if platform == "docker" else local_provider.provision_local
        started = time.perf_counter()
        sandbox = provision(ZEPHYR, run_dir)
        ready = time.perf_counter() - started
        into["deploy"] = into.get("deploy", 0.0) - into.get("wait available", 0.0)
        into["ready"] = ready
        started = time.perf_counter()
        sandbox.close()
        into["teardown"] = time.perf_counter() - started
    return into


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    DockerEngine().ensure()
    build_images(lambda line: print(f"images: {line}", flush=True))
    medians: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="drillbook-bench-sandbox-") as tmp:
        for platform in ("local", "docker"):
            runs: defaultdict[str, list[float]] = defaultdict(list)
            for i in range(repeats):
                for action, seconds in bring_up(platform, Path(tmp) / f"{platform}-{i}").items():
                    runs[action].append(seconds)
            medians[platform] = {action: statistics.median(values) for action, values in runs.items()}
    print(f"zephyr-voting, median of {repeats} bring-ups (seconds)")
    print(f"{'action':<16}{'local':>9}{'docker':>9}")
    for action in (*ACTIONS, "ready", "teardown"):
        local, docker = medians["local"].get(action, 0.0), medians["docker"].get(action, 0.0)
        print(f"{action:<16}{local:>9.2f}{docker:>9.2f}")
    print("(docker's datastores start together, beside the cluster and the proxy: their seconds overlap those)")
    prometheus = medians["local"].get("prometheus ready")
    if prometheus is not None:
        within = "within" if prometheus < PROMETHEUS_BUDGET_S else "OVER"
        print(f"local Prometheus start-to-ready as a bring-up action: {prometheus:.2f} s ({within} the 1.5 s budget)")
    ratio = medians["docker"]["ready"] / medians["local"]["ready"]
    verdict = "within" if ratio <= 2.0 else "NOT within"
    print(f"docker/local time to ready: {ratio:.2f}x ({verdict} the 2x goal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
