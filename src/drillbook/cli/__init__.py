"""The ``drillbook`` command line.

Each subcommand lives in its own module in this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to a callable taking the parsed namespace and returning
an exit code. Modules are discovered, so adding a subcommand touches one file.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from drillbook import __version__
from drillbook.errors import DrillbookError


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand module registered."""
    parser = argparse.ArgumentParser(
        prog="drillbook",
        description="Prove that operational runbooks still work: rehearse each incident as a drill.",
    )
    parser.add_argument("--version", action="version", version=f"drillbook {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        code: int = func(args)
    except DrillbookError as exc:
        print(f"drillbook {args.command}: error: {exc}", file=sys.stderr)
        for note in getattr(exc, "__notes__", []):
            print(f"  {note}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"drillbook {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`drillbook parse --json x.md | head`): stop quietly, as shell tools do.
        with contextlib.suppress(OSError, ValueError):  # no file descriptor behind stdout: nothing to silence
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
