"""``drillbook localkube``: run the embedded Kubernetes API server in the foreground."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``localkube`` subcommand."""
    from drillbook.platform.local.kube.foreground import add_arguments

    parser = subparsers.add_parser(
        "localkube",
        help="run localkube (an embedded Kubernetes API for kubectl) until Ctrl-C",
        description="Run localkube in the foreground: writes a kubeconfig (context 'localkube'), runs pods as "
        "local processes from the image map, and stops them all on SIGINT/SIGTERM.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until a signal arrives."""
    from drillbook.platform.local.kube.foreground import serve

    asyncio.run(serve(args))
    return 0
