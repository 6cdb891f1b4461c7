"""``drillbook gameday``: run the drills in ``features/`` and write the reports."""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import time
from pathlib import Path

from drillbook.errors import UsageError
from drillbook.gherkin.sharding import parse_shard


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``gameday`` subcommand."""
    parser = subparsers.add_parser(
        "gameday",
        help="run the game day (every drill in features/) and write reports",
        description="Run every drill under FEATURES with pytest and write reports/<run-id>/ "
        "(index.html, summary.json, summary.md, junit.xml, journal.jsonl).",
    )
    parser.add_argument("features", nargs="?", default="features", help="feature directory or file (default: features)")
    parser.add_argument("--reports", default="reports", help="where run directories go (default: reports)")
    parser.add_argument(
        "--platform", default="local", choices=["local", "docker", "kind", "k3s", "existing"], help="where drills run"
    )
    parser.add_argument("-k", dest="keyword", default=None, help="only drills matching this pytest -k expression")
    parser.add_argument(
        "--shard",
        metavar="I/N",
        default=None,
        help="run only shard I of N (a stable slice; merge the shards with drillbook report --merge)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run pytest over the features and print where the reports are."""
    features = Path(args.features)
    if not features.exists():
        raise UsageError(f"no feature directory or file at {features}; run from the project root or pass FEATURES")
    shard = parse_shard(args.shard) if args.shard else None
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    if shard is not None:
        run_id += f"-shard{shard.index}of{shard.count}"
    run_dir = Path(args.reports).resolve() / run_id
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(features),
        "-v",
        "-p",
        "no:cacheprovider",
        f"--drillbook-reports={args.reports}",
        f"--drillbook-run-id={run_id}",
        f"--drillbook-platform={args.platform}",
        f"--junitxml={run_dir / 'junit.xml'}",
        "-o",
        "junit_family=xunit1",
    ]
    if args.keyword:
        command += ["-k", args.keyword]
    if shard is not None:
        command.append(f"--drillbook-shard={shard}")
    where = f", shard {shard}" if shard is not None else ""
    print(f"drillbook gameday: run {run_id} on the {args.platform} platform{where}", flush=True)
    code = subprocess.call(command)
    summary = run_dir / "summary.md"
    if summary.is_file():
        print(summary.read_text(encoding="utf-8"))
        print(f"Report: {run_dir / 'index.html'}")
    else:
        print(f"drillbook gameday: no report was written (pytest exited {code})", file=sys.stderr)
    return code
