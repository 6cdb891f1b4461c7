"""``python -m drillbook.standin --profile <system>``: run one stand-in replica (configured by env vars).

``<system>`` is a folder of the scenarios directory holding a ``standin.yaml`` (``--scenarios``, else
``$DRILLBOOK_SCENARIOS``, else the repository's ``scenarios/``), or the path of a ``standin.yaml``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from drillbook.errors import DrillbookError
from drillbook.standin.app import run
from drillbook.standin.profiles import get_profile


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, apply ``--set`` overrides to the environment, and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m drillbook.standin",
        description="Stand-in service for a system described by its standin.yaml; configured by environment "
        "variables (see drillbook.standin.config).",
    )
    parser.add_argument("--profile", required=True, help="a system with a standin.yaml, or a standin.yaml path")
    parser.add_argument("--scenarios", default=None, help="scenarios directory (default: $DRILLBOOK_SCENARIOS)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="default for an environment variable (the pod's env wins); used by image maps for bad releases",
    )
    args = parser.parse_args(argv)
    try:
        scenarios = args.scenarios or os.environ.get("DRILLBOOK_SCENARIOS")
        profile = get_profile(args.profile, Path(scenarios) if scenarios else None)
    except DrillbookError as exc:
        print(f"drillbook.standin: error: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"drillbook.standin: error: --set expects NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        env.setdefault(name, value)
    return run(profile, env)


if __name__ == "__main__":
    sys.exit(main())
