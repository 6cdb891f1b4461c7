"""``drillbook toxiproxy``: serve the Toxiproxy-compatible fault proxy in the foreground."""

from __future__ import annotations

import argparse
import json
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
    from drillbook.platform.local.toxiproxy import FaultProxyError, FaultProxyServer
    from drillbook.platform.local.toxiproxy.errors import ApiError
    from drillbook.platform.local.toxiproxy.server import run_until_signalled

    try:
        server = FaultProxyServer(args.host, args.port)
    except FaultProxyError as exc:
        raise UsageError(f"--host: {exc}") from exc
    proxies = read_config(args.config) if args.config is not None else None
    try:
        run_until_signalled(server, proxies)
    except ApiError as exc:
        raise UsageError(f"--config {args.config}: {exc.message}") from exc
    return 0


def read_config(path: Path) -> list[Any]:
    """Read a Toxiproxy config file: a JSON array of proxies."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"--config {path}: expected a readable JSON array of proxies: {exc}") from exc
    if not isinstance(data, list):
        raise UsageError(f"--config {path}: expected a JSON array of proxies, got {type(data).__name__}")
    return data
