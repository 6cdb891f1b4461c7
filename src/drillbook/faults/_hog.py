"""The connection hog: takes PostgreSQL's free connection slots and holds them.

Run as ``python -m drillbook.faults._hog --dsn … --mode idle|active``. Prints one JSON line
(``{"held": N, "refused": "…"}``) once it holds what it can, then holds until SIGTERM, its parent's
death, or ``--hold-s`` (a hard bound).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

import asyncpg

from drillbook.faults._helpers import die_with_parent


async def _grab(args: argparse.Namespace, connections: list[Any], tasks: list[Any], limit: int | None = None) -> str:
    """Open connections (at most ``limit`` of them) until the server refuses one; return its refusal."""
    opened = 0
    while len(connections) < args.max and (limit is None or opened < limit):
        opened += 1
        try:
            # client_connection_check_interval: a backend busy in pg_sleep notices within a second that a
            # SIGKILLed hog is gone, instead of holding its slot for the whole sleep.
            settings = {"application_name": args.marker, "client_connection_check_interval": "1000"}
            conn = await asyncpg.connect(args.dsn, timeout=5, server_settings=settings)
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            return str(exc)
        # A leaked connection has done work: it shows a last query, like the app's own connections do.
        await conn.execute("SELECT 1")
        connections.append(conn)
        if args.mode == "active":
            # Long-running queries look like a stuck batch job in pg_stat_activity (state 'active').
            tasks.append(asyncio.create_task(conn.execute(f"SELECT pg_sleep({args.hold_s})")))
    return ""


async def _hog(args: argparse.Namespace) -> int:
    connections: list[Any] = []
    tasks: list[Any] = []
    refused = await _grab(args, connections, tasks)
    print(json.dumps({"held": len(connections), "refused": refused}), flush=True)
    parent = os.getppid()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    deadline = loop.time() + args.hold_s
    eager_until = loop.time() + args.eager_s
    while not stop.is_set() and loop.time() < deadline and os.getppid() == parent:
        # Dead connections (an operator terminated them) no longer hold a slot.
        connections[:] = [c for c in connections if not c.is_closed()]
        if loop.time() < eager_until:
            # Right after the failover the job's workers reconnect as fast as the application does.
            await _grab(args, connections, tasks)
            await asyncio.sleep(0.01)
        else:
            # Then it retakes freed slots at a finite rate: killing its backends buys the operator time.
            await _grab(args, connections, tasks, limit=1)
            await asyncio.sleep(1.0 / args.refill_per_s)
    # Cancel running queries (a cancel request needs no connection slot), then close politely.
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(c.close(timeout=3) for c in connections), return_exceptions=True)
    for conn in connections:
        conn.terminate()
    return 0


def main() -> int:
    """Entry point of the hog process."""
    parser = argparse.ArgumentParser(prog="drillbook-hog")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--mode", choices=["idle", "active"], default="idle")
    parser.add_argument("--max", type=int, default=1000)
    parser.add_argument("--hold-s", type=float, default=900.0)
    parser.add_argument("--eager-s", type=float, default=3.0)
    parser.add_argument("--refill-per-s", type=float, default=1.0)
    parser.add_argument("--marker", required=True)
    args = parser.parse_args()
    die_with_parent()
    return asyncio.run(_hog(args))


if __name__ == "__main__":
    sys.exit(main())
