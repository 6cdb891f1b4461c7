"""Throughput and added latency of drillbook's fault proxy, versus talking to the datastore directly.

Runs redis-benchmark (PING/SET/GET) and pgbench (select-only) over loopback, once direct and once through a
proxy created with the real toxiproxy-python client, and prints requests per second, average latency and the
proxied/direct ratios. Direct and proxied runs alternate for ``ROUNDS`` rounds and the medians are reported, so
a burst of load from other work on the machine skews both sides alike rather than one; the load average is printed
beside the figures. Bounded: fixed request counts for redis-benchmark, ``-T`` seconds for pgbench, and a timeout on
every subprocess (about 60 s in all).

Run: ``.venv/bin/python bench/bench_toxiproxy.py``
"""

from __future__ import annotations

import csv
import io
import os
import re
import statistics
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from toxiproxy import Toxiproxy

from drillbook.platform.local.datastores import PostgresInstance, RedisInstance
from drillbook.platform.local.toxiproxy import ToxiproxyProcess

REDIS_REQUESTS = 20_000
REDIS_CLIENTS = 8
#: Alternating direct/proxied rounds; medians are reported.
ROUNDS = 3
PGBENCH_SECONDS = 3
PGBENCH_CLIENTS = 4


def redis_benchmark(port: int) -> dict[str, tuple[float, float]]:
    """rps and average latency (ms) per test."""
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "ping,set,get"]
    cmd += ["-n", str(REDIS_REQUESTS), "-c", str(REDIS_CLIENTS), "--csv"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=True).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    return {row["test"]: (float(row["rps"]), float(row["avg_latency_ms"])) for row in rows}


def pgbench(env: dict[str, str], port: int) -> tuple[float, float]:
    """tps and average latency (ms) of a select-only run."""
    run_env = {**os.environ, **env, "PGPORT": str(port)}
    cmd = ["pgbench", "-S", "-n", "-c", str(PGBENCH_CLIENTS), "-j", "2", "-T", str(PGBENCH_SECONDS)]
    out = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=PGBENCH_SECONDS + 30, check=True)
    tps = re.search(r"tps = ([\d.]+)", out.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", out.stdout)
    if tps is None or latency is None:
        raise RuntimeError(f"unexpected pgbench output:\n{out.stdout}")
    return float(tps.group(1)), float(latency.group(1))


def _median(runs: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """Median rate and median latency over runs."""
    rates, latencies = zip(*runs, strict=True)
    return statistics.median(rates), statistics.median(latencies)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    """Measure and print."""
    base = Path(tempfile.mkdtemp(prefix="bench-toxiproxy-"))
    with (
        RedisInstance(base_dir=base / "redis") as redis_server,
        PostgresInstance(base_dir=base / "pg") as pg,
        ToxiproxyProcess(log_file=base / "toxiproxy.log") as process,
    ):
        client = Toxiproxy()
        client.update_api_consumer(process.host, process.port)
        redis_proxy = client.create(upstream=f"127.0.0.1:{redis_server.port}", name="redis")
        pg_proxy = client.create(upstream=f"127.0.0.1:{pg.port}", name="pg")
        redis_proxy_port = int(redis_proxy.listen.rpartition(":")[2])
        pg_proxy_port = int(pg_proxy.listen.rpartition(":")[2])

        print(f"load average {_load()}")
        print(f"redis-benchmark: {REDIS_REQUESTS} requests, {REDIS_CLIENTS} clients, median of {ROUNDS} rounds")
        redis_runs: dict[str, list[dict[str, tuple[float, float]]]] = {"direct": [], "proxied": []}
        for _ in range(ROUNDS):
            redis_runs["direct"].append(redis_benchmark(redis_server.port))
            redis_runs["proxied"].append(redis_benchmark(redis_proxy_port))
        header = ("test", "direct rps", "proxied rps", "ratio", "direct ms", "proxied ms", "added ms")
        row = "  {:12} {:>11} {:>12} {:>6} {:>10} {:>11} {:>9}"
        print(row.format(*header))
        for test in redis_runs["direct"][0]:
            rps, lat = _median(run[test] for run in redis_runs["direct"])
            p_rps, p_lat = _median(run[test] for run in redis_runs["proxied"])
            rates = (f"{rps:.0f}", f"{p_rps:.0f}", f"{p_rps / rps:.2f}")
            print(row.format(test, *rates, f"{lat:.3f}", f"{p_lat:.3f}", f"{p_lat - lat:.3f}"))

        subprocess.run(
            ["pgbench", "-i", "-s", "1", "-q"],
            env={**os.environ, **pg.env()},
            capture_output=True,
            timeout=60,
            check=True,
        )
        print(f"pgbench -S: {PGBENCH_CLIENTS} clients, {PGBENCH_SECONDS} s each, median of {ROUNDS} rounds")
        pg_direct, pg_proxied = [], []
        for _ in range(ROUNDS):
            pg_direct.append(pgbench(pg.env(), pg.port))
            pg_proxied.append(pgbench(pg.env(), pg_proxy_port))
        tps, lat = _median(pg_direct)
        p_tps, p_lat = _median(pg_proxied)
        print(f"  direct  tps {tps:9.0f}  latency {lat:.3f} ms")
        print(f"  proxied tps {p_tps:9.0f}  latency {p_lat:.3f} ms")
        print(f"  ratio   tps {p_tps / tps:.2f}  added latency {p_lat - lat:.3f} ms")
        print(f"load average {_load()}")
        client.destroy_all()


if __name__ == "__main__":
    main()
