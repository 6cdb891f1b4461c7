"""``drillbook images build``: build the images the docker (and kind/k3s) providers run, locally."""

from __future__ import annotations

import argparse
import time


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``images`` subcommand."""
    parser = subparsers.add_parser(
        "images",
        help="build the container images the docker provider needs (locally: no registry)",
        description=(
            "Build drillbook's images with the local Docker engine: a Debian base made with debootstrap from "
            "Debian's packages (a few minutes, once), then PostgreSQL 15 and Redis images on it (seconds). "
            "Images that exist are kept unless --rebuild is given. Starts dockerd when none runs (as root)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="build every missing image and say what was built and how long it took")
    build.add_argument("--rebuild", action="store_true", help="rebuild every image, even those that exist")
    build.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the images and print one line per image."""
    from drillbook.platform.docker import DockerEngine, build_images

    engine = DockerEngine().ensure()
    started = " (started by drillbook)" if engine.started_pid else ""
    print(f"docker engine {engine.server_version}{started}", flush=True)
    begin = time.monotonic()
    built = build_images(lambda line: print(f"  … {line}", flush=True), rebuild=args.rebuild)
    for image in built:
        how = "cached" if image.cached else f"built in {image.seconds:.1f} s"
        print(f"  {image.tag:<24} {how}")
    print(f"images ready in {time.monotonic() - begin:.1f} s")
    return 0
