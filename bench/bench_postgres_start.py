"""How long a fresh PostgreSQL takes to accept connections: template copy (PostgresInstance) vs plain initdb.

Prints the median and spread of a few starts each way and the speed-up. Bounded: 5 instances each way,
every subprocess with a timeout (about 20 s in all).

Run: ``.venv/bin/python bench/bench_postgres_start.py``
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from drillbook.platform.local.datastores import PostgresInstance, free_port
from drillbook.platform.local.datastores._host import postgres_account, runtime_root
from drillbook.platform.local.datastores.template import PG_BIN, ensure_template, initdb

RUNS = 5


def template_start() -> float:
    """Seconds from nothing to a connectable instance with role, database and pg_stat_statements."""
    base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    started = time.perf_counter()
    with PostgresInstance(base_dir=base):
        elapsed = time.perf_counter() - started
    shutil.rmtree(base, ignore_errors=True)
    return elapsed


def plain_start() -> float:
    """Seconds for initdb + pg_ctl start -w (no role, database or extension setup: a lower bound)."""
    account = postgres_account()
    home = Path(tempfile.mkdtemp(prefix="bench-initdb-", dir=runtime_root()))
    os.chown(home, account.uid, account.gid)
    port = free_port()
    started = time.perf_counter()
    initdb(home / "data", account)
    opts = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={home}"
    ctl = [str(PG_BIN / "pg_ctl"), "-D", str(home / "data"), "-o", opts, "-l", str(home / "log"), "-w"]
    run = {"user": account.uid, "group": account.gid, "extra_groups": [], "cwd": "/", "timeout": 60}
    subprocess.run([*ctl, "start"], capture_output=True, check=True, **run)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - started
    subprocess.run([*ctl, "-m", "fast", "stop"], capture_output=True, check=True, **run)  # type: ignore[call-overload]
    shutil.rmtree(home, ignore_errors=True)
    return elapsed


def describe(label: str, samples: list[float]) -> float:
    """Print and return the median."""
    median = statistics.median(samples)
    print(
        f"  {label:28} median {median * 1000:7.0f} ms   min {min(samples) * 1000:6.0f}   max {max(samples) * 1000:6.0f}"
    )
    return median


def main() -> None:
    """Measure and print."""
    started = time.perf_counter()
    ensure_template()
    print(f"template ready in {(time.perf_counter() - started) * 1000:.0f} ms (cached after the first build)")
    print(f"{RUNS} starts each:")
    copied = describe("template copy (full setup)", [template_start() for _ in range(RUNS)])
    plain = describe("initdb + pg_ctl start", [plain_start() for _ in range(RUNS)])
    print(f"  speed-up: {plain / copied:.1f}x")


if __name__ == "__main__":
    main()
