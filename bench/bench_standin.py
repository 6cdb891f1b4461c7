"""Stand-in capacity model: throughput and p95 latency with 1, 2, 3 and 5 replicas under the same overload.

Each replica serves MAX_CONCURRENCY requests at once with SERVICE_TIME_MS of simulated work, so its ceiling is
MAX_CONCURRENCY / SERVICE_TIME per second. A bounded aiohttp client (fixed workers, fixed duration) round-robins
over plain subprocess replicas on distinct 127.0.x.y addresses, against real PostgreSQL and Redis.

Run: ``.venv/bin/python bench/bench_standin.py [--seconds 4] [--workers 48]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

from drillbook.platform.local.datastores import PostgresConfig, PostgresInstance, RedisConfig, RedisInstance

PROFILE = "architect-api"
MAX_CONCURRENCY = 4
SERVICE_TIME_MS = 50
REPLICA_COUNTS = (1, 2, 3, 5)
MAX_REQUESTS_PER_STEP = 20_000


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _start_replicas(n: int, env: dict[str, str], logs: Path) -> list[tuple[subprocess.Popen[bytes], str]]:
    replicas = []
    for i in range(n):
        host = f"127.0.{90 + os.getpid() % 60}.{10 + i}"
        port = _free_port(host)
        replica_env = {**os.environ, **env, "POD_IP": host, "PORT": str(port)}
        log = open(logs / f"replica-{n}-{i}.log", "wb")  # noqa: SIM115 - the child inherits it
        proc = subprocess.Popen(
            [sys.executable, "-m", "drillbook.standin", "--profile", PROFILE],
            env=replica_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        replicas.append((proc, f"http://{host}:{port}"))
    deadline = time.monotonic() + 60
    for proc, base in replicas:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"replica {base} did not become ready (see {logs})")
            try:
                with urllib.request.urlopen(base + "/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.2)
    return replicas


def _stop(replicas: list[tuple[subprocess.Popen[bytes], str]]) -> None:
    for proc, _ in replicas:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc, _ in replicas:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def _load(bases: list[str], path: str, seconds: float, workers: int) -> tuple[int, int, list[float]]:
    targets = itertools.cycle(bases)
    ok = refused = 0
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=10)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal ok, refused
        while time.monotonic() < deadline and ok + refused < MAX_REQUESTS_PER_STEP:
            start = time.perf_counter()
            async with session.get(next(targets) + path) as resp:
                await resp.read()
                if resp.status == 200:
                    ok += 1
                    latencies.append(time.perf_counter() - start)
                else:
                    refused += 1

    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=workers)) as session:
        await asyncio.gather(*(worker(session) for _ in range(workers)))
    return ok, refused, latencies


def main() -> int:
    """Run the steps and print a table with ratios against one replica."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=48)
    args = parser.parse_args()
    seconds, workers = args.seconds, args.workers
    ceiling = MAX_CONCURRENCY / (SERVICE_TIME_MS / 1000)
    base_dir = Path(tempfile.mkdtemp(prefix="drillbook-bench-standin-"))
    pg = PostgresInstance(PostgresConfig(database="architect"), base_dir=base_dir / "pg")
    redis = RedisInstance(RedisConfig(), base_dir=base_dir / "redis")
    try:
        _run(pg, redis, base_dir, seconds=seconds, workers=workers, ceiling=ceiling)
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)
    return 0


def _run(
    pg: PostgresInstance, redis: RedisInstance, base_dir: Path, *, seconds: float, workers: int, ceiling: float
) -> None:
    with pg, redis:
        env = {"DATABASE_URL": pg.dsn, "REDIS_URL": redis.url, "STANDIN_SEED_ROWS": "1000"}
        env |= {"MAX_CONCURRENCY": str(MAX_CONCURRENCY), "SERVICE_TIME_MS": str(SERVICE_TIME_MS), "MAX_QUEUE": "1000"}
        print(f"profile {PROFILE}: ceiling {ceiling:.0f} req/s per replica; {workers} workers, {seconds}s/step")
        print(f"{'replicas':>8} {'req/s':>8} {'ratio':>6} {'ideal':>6} {'p95 ms':>8} {'refused':>8}")
        first = 0.0
        for n in REPLICA_COUNTS:
            replicas = _start_replicas(n, env, base_dir)
            try:
                bases = [b for _, b in replicas]
                ok, refused, lat = asyncio.run(_load(bases, "/api/projects?owner_id=owner-7", seconds, workers))
            finally:
                _stop(replicas)
            rate = ok / seconds
            first = first or rate
            p95 = statistics.quantiles(lat, n=20)[18] * 1000 if len(lat) >= 20 else float("nan")
            # Workers outnumber the slots of even five replicas, so each step is saturated: the ideal ratio is n.
            print(f"{n:>8} {rate:>8.0f} {rate / first:>6.2f} {n:>6.2f} {p95:>8.0f} {refused:>8}")


if __name__ == "__main__":
    sys.exit(main())
