"""``drillbook check SYSTEM``: validate every scenario file with file:line errors, provisioning nothing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from drillbook.errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="validate a system's scenario files (scenario, manifests, images, bindings, standin, drills)",
        description="Validate every file of scenarios/SYSTEM/ against its schema and against each other, with "
        "file:line errors; nothing is provisioned. Exit 0 when valid, 1 with problems, 2 when the system does "
        "not exist. Formats: docs/scenario-files.md.",
    )
    parser.add_argument("systems", nargs="+", metavar="SYSTEM", help="a folder of the scenarios directory, or a path")
    parser.add_argument("--scenarios", default="scenarios", help="scenarios directory (default: ./scenarios)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check each system; print every problem, then a one-line summary per system."""
    from drillbook.scenario_check import check_scenario

    builtin = _builtin_images()
    failed = False
    for system in args.systems:
        directory = _directory(system, Path(args.scenarios))
        problems = check_scenario(directory, builtin_image=builtin)
        for problem in problems:
            print(problem)
        count = len(problems)
        if count:
            failed = True
            print(f"drillbook check: {count} problem{'s' if count != 1 else ''} in {directory}", file=sys.stderr)
        else:
            print(f"drillbook check: {directory} is valid", file=sys.stderr)
    return 1 if failed else 0


def _directory(system: str, scenarios: Path) -> Path:
    given = Path(system)
    for candidate in (given, scenarios / system):
        if (candidate / "runbook.md").is_file() or (candidate / "scenario.yaml").is_file():
            return candidate
    known = sorted(p.name for p in scenarios.iterdir() if (p / "runbook.md").is_file()) if scenarios.is_dir() else []
    raise UsageError(
        f"no system {system!r}: {scenarios / system} has no runbook.md or scenario.yaml; "
        f"systems in {scenarios}: {', '.join(known) or 'none'}. Pass --scenarios DIR or the folder's path"
    )


def _builtin_images() -> Callable[[str], bool]:
    from drillbook.platform.local.datastores import IMAGES_FILE
    from drillbook.platform.local.kube.kubelet.images import ImageMap
    from drillbook.platform.local.kube.kubelet.stock import stock_images

    images = stock_images().merged(ImageMap.load(IMAGES_FILE))
    return images.__contains__
