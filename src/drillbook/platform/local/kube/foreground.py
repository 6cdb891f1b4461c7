"""Running localkube in the foreground until SIGINT/SIGTERM (shared by the CLI and ``python -m``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drillbook.errors import DrillbookError, UsageError
from drillbook.platform.local.kube.cluster import LocalKube, refuse_home_kube


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``drillbook localkube`` and ``python -m drillbook.platform.local.kube`` share."""
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        required=True,
        help="where to write the kubeconfig (context 'localkube'); never point this at ~/.kube/config",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--images",
        type=Path,
        action="append",
        default=[],
        nargs="+",
        help="image map YAML file(s): image reference -> local command (over the stock busybox, python, nginx, "
        "redis and postgres entries)",
    )
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="pod logs and kubectl cache (default: next to the kubeconfig)"
    )
    parser.add_argument(
        "--time-factor",
        type=float,
        default=1.0,
        help="scale back-offs, probes and grace periods (0.1 = ten times faster)",
    )


def _images(files: list[Path]) -> Any:
    from drillbook.platform.local.kube.kubelet import ImageMap

    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise UsageError(f"image map file(s) not found: {', '.join(missing)}; pass existing YAML files to --images")
    from drillbook.platform.local.kube.kubelet.stock import stock_images

    return stock_images().merged(ImageMap.load(*files))


async def serve(args: argparse.Namespace) -> None:
    """Start localkube, print how to use it, and run until a signal arrives."""
    files = [f for group in args.images for f in group]
    state_dir = args.state_dir or args.kubeconfig.parent / "localkube-state"
    refuse_home_kube(args.kubeconfig, "kubeconfig")  # before anything is created
    refuse_home_kube(state_dir, "state directory")
    kube = LocalKube(
        state_dir=state_dir,
        images=_images(files),
        port=args.port,
        time_factor=args.time_factor,
        kubeconfig=args.kubeconfig,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with kube:
        env = kube.env()
        print(f"localkube listening on {kube.url} (node localkube, kubectl minor 1.32)", flush=True)
        print(f"  export KUBECONFIG={env['KUBECONFIG']}", flush=True)
        print(f"  export KUBECACHEDIR={env['KUBECACHEDIR']}   # kubectl's own cache for this cluster", flush=True)
        print("  stop with Ctrl-C (pods are killed on exit)", flush=True)
        await stop.wait()
    print("localkube stopped", flush=True)


def main(argv: Sequence[str]) -> int:
    """Entry point for ``python -m``; returns an exit code."""
    parser = argparse.ArgumentParser(prog="python -m drillbook.platform.local.kube", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(args))
    except DrillbookError as exc:
        print(f"localkube: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0
