"""``drillbook images build``: build the images the docker (and kind/k3s) providers run, locally."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from drillbook.errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``images`` subcommand."""
    parser = subparsers.add_parser(
        "images",
        help="build the container images the docker, kind and k3s providers need (locally: no registry)",
        description=(
            "Build drillbook's images with the local Docker engine: a Debian base made with debootstrap from "
            "Debian's packages (a few minutes, once), then PostgreSQL 15 and Redis images on it (seconds). "
            "With --seed DIR, also the images kind/k3s load for that seed: a stand-in base with Debian's Python "
            "(once), the stand-in, and each release under the name its manifests use. "
            "Images that exist are kept unless --rebuild is given. Starts dockerd when none runs (as root)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="build every missing image and say what was built and how long it took")
    build.add_argument("--rebuild", action="store_true", help="rebuild every image, even those that exist")
    build.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="DIR",
        type=Path,
        help="also build what a real cluster (kind, k3s) needs for the seed in DIR (scenarios/<system>): the "
        "stand-in and every release its manifests and images.yaml name, under those names; repeatable",
    )
    build.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the images and print one line per image."""
    from drillbook.platform.docker import DockerEngine, build_images
    from drillbook.platform.docker.seed_images import build_seed_images, seed_image_plan

    for seed in args.seed:  # every seed's plan is checked before anything is built
        if not (seed / "manifests.yaml").is_file():
            raise UsageError(f"--seed {seed}: expected a seed's directory with a manifests.yaml (scenarios/<system>)")
        seed_image_plan(seed)
    engine = DockerEngine().ensure()
    started = " (started by drillbook)" if engine.started_pid else ""
    print(f"docker engine {engine.server_version}{started}", flush=True)
    begin = time.monotonic()
    built = build_images(_progress, rebuild=args.rebuild)
    for seed in args.seed:
        built += build_seed_images(seed, _progress, rebuild=args.rebuild)
    for image in built:
        how = "cached" if image.cached else f"built in {image.seconds:.1f} s"
        print(f"  {image.tag:<32} {how}")
    print(f"images ready in {time.monotonic() - begin:.1f} s")
    return 0


def _progress(line: str) -> None:
    print(f"  … {line}", flush=True)
