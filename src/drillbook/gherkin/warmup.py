"""Warm the app before its steady traffic starts, as a production system is warm before its incident.

A freshly provisioned stand-in opens its database connections on its first requests; on a busy machine the first
traffic window then shows errors and seconds of latency, and the baseline calls the scenario invalid although the
SLOs hold a second later. That is the sandbox's cold start, not the system the runbook describes: a bounded
burst of the scenario's own read requests is sent first, so the baseline judges the warm system.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.error import URLError

WARMUP_REQUESTS = 40
"""Requests sent before the traffic starts (spread over the scenario's GET endpoints)."""
WARMUP_PARALLEL = 8
"""At once: enough for each replica to open its pool's connections."""
WARMUP_WITHIN_S = 20.0
"""The warm-up never takes longer than this, whatever the app does."""


def warm_up(app_url: str, paths: Sequence[str]) -> int:
    """Send the warm-up requests to ``app_url`` (a loopback URL of the sandbox); return how many answered.

    Failures are ignored: a system that cannot answer is for the baseline to judge, not the warm-up.
    """
    if not paths:
        return 0
    urls = [app_url.rstrip("/") + paths[i % len(paths)] for i in range(WARMUP_REQUESTS)]
    with ThreadPoolExecutor(max_workers=WARMUP_PARALLEL) as pool:
        futures = [pool.submit(_get, url) for url in urls]
        done, _ = wait(futures, timeout=WARMUP_WITHIN_S)
        for future in futures:
            future.cancel()
    return sum(1 for f in done if not f.cancelled() and f.exception() is None and f.result())


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:  # the sandbox's loopback URL
            reply.read()
            return True
    except (URLError, OSError, ValueError):
        return False
