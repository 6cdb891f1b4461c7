"""``python -m drillbook.standin --profile <system>``: run one stand-in replica (configured by env vars)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from drillbook.errors import UsageError
from drillbook.standin.app import run
from drillbook.standin.profiles import PROFILES, get_profile


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, apply ``--set`` overrides to the environment, and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m drillbook.standin",
        description="Stand-in service for a seed system; configured by environment variables "
        "(see drillbook.standin.config).",
    )
    parser.add_argument("--profile", required=True, help=f"one of: {', '.join(sorted(PROFILES))}")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="default for an environment variable (the pod's env wins); used by image maps for bad releases",
    )
    args = parser.parse_args(argv)
    try:
        profile = get_profile(args.profile)
    except UsageError as exc:
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
