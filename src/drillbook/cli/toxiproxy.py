"""``drillbook toxiproxy``: serve the Toxiproxy-compatible fault proxy in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from drillbook.errors import UsageError


def register(subparsers: Any) -> None:
    """Add the ``toxiproxy`` subcommand."""
    parser = subparsers.add_parser(
        "toxiproxy",
        help="serve a Toxiproxy-compatible fault proxy (HTTP API + TCP proxies)",
        description="Serve Toxiproxy's HTTP API and proxy TCP on loopback until SIGTERM or Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="API address (loopback only; default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="API port (default 8474, 0 picks a free one)")
    parser.add_argument("--config", type=Path, help="JSON file of proxies to create at start, like toxiproxy -config")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until a signal arrives."""
    return asyncio.run(_serve(args.host, args.port, args.config))


async def _serve(host: str, port: int, config: Path | None) -> int:
    from drillbook.platform.local.toxiproxy import FaultProxyError, FaultProxyServer
    from drillbook.platform.local.toxiproxy.errors import ApiError

    try:
        server = FaultProxyServer(host, port)
    except FaultProxyError as exc:
        raise UsageError(f"--host: {exc}") from exc
    proxies = _read_config(config) if config is not None else None
    await server.start()
    try:
        if proxies is not None:
            try:
                await server.populate(proxies)
            except ApiError as exc:
                raise UsageError(f"--config {config}: {exc.message}") from exc
        print(f"drillbook toxiproxy: API listening on {server.url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await server.stop()
    return 0


def _read_config(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"--config {path}: expected a readable JSON array of proxies: {exc}") from exc
    if not isinstance(data, list):
        raise UsageError(f"--config {path}: expected a JSON array of proxies, got {type(data).__name__}")
    return data
