"""How fast the load generator drives a local service, and how late its records reach the monitor.

Prints, for a tiny aiohttp service in its own process (and the drillbook stand-in when it can start here):
the request rate locust sustains unpaced, and at a paced drill-like rate the delay from a request completing
to its record arriving in this process (p50/p95/max). Bounded: about 20 s in all.

Run: ``.venv/bin/python bench/bench_traffic.py``
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from drillbook.slo import RequestRecord, percentile
from drillbook.traffic import Endpoint, LoadGenerator, TrafficProfile

TINY_SERVICE = """
import sys
from aiohttp import web
async def ok(request): return web.json_response({"ok": True})
app = web.Application(); app.router.add_route("*", "/{tail:.*}", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@dataclass
class Tally:
    """Records and their arrival delays, filled from the generator's reader thread."""

    delays_ms: list[float] = field(default_factory=list)
    first_ts: float | None = None
    last_ts: float = 0.0
    ok: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: RequestRecord) -> None:
        arrived = time.time()
        with self.lock:
            self.delays_ms.append((arrived - record.ts) * 1000.0)
            self.first_ts = record.ts if self.first_ts is None else min(self.first_ts, record.ts)
            self.last_ts = max(self.last_ts, record.ts)
            self.ok += record.ok

    def rate(self) -> float:
        span = self.last_ts - (self.first_ts or self.last_ts)
        return len(self.delays_ms) / span if span > 0 else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def run(url: str, profile: TrafficProfile, users: int, seconds: float) -> Tally:
    tally = Tally()
    with LoadGenerator(url, run_time_s=seconds, users=users, profile=profile, on_record=tally.add) as generator:
        generator.wait(timeout=seconds + 10)
    return tally


def report(label: str, tally: Tally) -> None:
    delays = sorted(tally.delays_ms)
    count = len(delays)
    p50, p95 = percentile(delays, 50), percentile(delays, 95)
    print(
        f"{label:<40} {count:>6} records  {tally.rate():>7.1f} req/s  ok {tally.ok / max(count, 1):>6.1%}  "
        f"record delay p50 {p50 or 0:6.1f} ms  p95 {p95 or 0:6.1f} ms  max {(delays[-1] if delays else 0):6.1f} ms"
    )


def bench_service(name: str, url: str, endpoints: tuple[Endpoint, ...], seconds: float) -> None:
    flat_out = TrafficProfile(endpoints=endpoints, per_user_rps=10_000.0)
    paced = TrafficProfile(endpoints=endpoints, per_user_rps=10.0)
    unpaced = run(url, flat_out, users=10, seconds=seconds)
    report(f"{name}: 10 users unpaced", unpaced)
    drill = run(url, paced, users=10, seconds=seconds)
    report(f"{name}: 10 users x 10 req/s", drill)
    if drill.rate() > 0:
        print(f"{name}: unpaced / paced rate ratio {unpaced.rate() / drill.rate():.1f}x")


RUN_S = 2.5
"""Seconds per locust run: four runs plus process start-ups stay within the budget."""
BUDGET_S = 20.0
PG_BIN = "/usr/lib/postgresql/15/bin"
POSTGRES_UID = 101  # PostgreSQL refuses to run as root; the Debian package's postgres user


@contextlib.contextmanager
def datastores() -> Iterator[tuple[str, str]]:
    """A throwaway PostgreSQL and Redis on loopback: their URLs."""
    with tempfile.TemporaryDirectory(prefix="bench-traffic-") as tmp:
        os.chown(tmp, POSTGRES_UID, -1)
        data, pg_port, redis_port = f"{tmp}/pg", free_port(), free_port()
        as_postgres = {"user": POSTGRES_UID, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run([f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres"], check=True, **as_postgres)
        options = f"-p {pg_port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([f"{PG_BIN}/pg_ctl", "-D", data, "-o", options, "-w", "start"], check=True, **as_postgres)
        try:
            with process(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]):
                wait_listening(redis_port, timeout=5)
                yield f"postgresql://postgres@127.0.0.1:{pg_port}/postgres", f"redis://127.0.0.1:{redis_port}"
        finally:
            subprocess.run([f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate", "stop"], check=False, **as_postgres)


def bench_standin() -> None:
    with datastores() as (database_url, redis_url):
        port = free_port()
        env = os.environ | {
            "PORT": str(port),
            "POD_IP": "127.0.0.1",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "STANDIN_SEED_ROWS": "1000",
        }
        with process([sys.executable, "-m", "drillbook.standin", "--profile", "zephyr-voting"], env=env):
            if not wait_listening(port, timeout=10):
                print("stand-in: skipped (it did not listen within 10 s)")
                return
            endpoints = (Endpoint("health", "GET", "/api/health", 1), Endpoint("polls", "GET", "/api/polls", 3))
            bench_service("stand-in zephyr-voting", f"http://127.0.0.1:{port}", endpoints, RUN_S)


def main() -> None:
    started = time.monotonic()
    port = free_port()
    with process([sys.executable, "-c", TINY_SERVICE, str(port)]):
        if not wait_listening(port, timeout=5):
            sys.exit("the tiny aiohttp service did not start")
        bench_service("aiohttp", f"http://127.0.0.1:{port}", (Endpoint("ok", "GET", "/api/health", 1),), RUN_S)

    if importlib.util.find_spec("drillbook.standin.__main__") is None:
        print("stand-in: skipped (drillbook.standin has no __main__ yet)")
    elif time.monotonic() - started > BUDGET_S / 2:
        print(f"stand-in: skipped (this machine is busy: the aiohttp part alone took over {BUDGET_S / 2:.0f} s)")
    elif not os.path.exists(f"{PG_BIN}/initdb") or shutil.which("redis-server") is None:
        print("stand-in: skipped (needs PostgreSQL 15 and redis-server for its datastores)")
    else:
        bench_standin()
    print(f"total bench time {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
