"""``drillbook gameday``: run the drills in ``features/`` and write the reports.

Exit code: pytest's. A drill that is *failed*, *invalid* or *error* (or was interrupted) is a failed test, so the
game day exits 1; *passed* and *passed with findings* pass; *inconclusive* and *vacuous* drills are skipped with
their reason (they prove nothing either way, so they neither pass nor fail CI). ``--fail-on-findings`` also
exits 1 when any drill has a runbook finding that counts (a *passed with findings* drill).
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
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
    parser.add_argument(
        "features",
        nargs="?",
        default="features",
        help="feature directory, .feature file or test module (default: features)",
    )
    parser.add_argument("--reports", default="reports", help="where run directories go (default: reports)")
    parser.add_argument("--scenarios", default="scenarios", help="scenario directory (default: scenarios)")
    parser.add_argument(
        "--platform", default="local", choices=["local", "docker", "kind", "k3s", "existing"], help="where drills run"
    )
    parser.add_argument(
        "-k",
        dest="keyword",
        default=None,
        help="only drills matching this pytest -k expression; an incident id as the runbook writes it (RB-007) "
        "or a system name selects its drills",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        default=None,
        help="run only shard I of N (a stable slice; merge the shards with drillbook report --merge)",
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        default=None,
        help="drills in N processes at once, merged into one run (a number or auto: one per two cores); default 1, "
        "as a drill keeps about two cores busy and a starved drill shows latency the system does not have",
    )
    parser.add_argument(
        "--control",
        choices=["off", "once", "always"],
        default=None,
        help="do-nothing control run per (system, fault): once per run (default), in every drill, or off",
    )
    parser.add_argument(
        "--fail-on-findings",
        action="store_true",
        help="also exit 1 when a drill passed with findings (a stale diagnostic, a placeholder, harmful advice)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run pytest over the features and print where the reports are."""
    features = Path(args.features)
    if not features.exists():
        raise UsageError(f"no feature directory or file at {features}; run from the project root or pass FEATURES")
    selected: list[str] = []
    if features.is_file() and features.suffix == ".feature":
        # pytest collects test modules, not .feature files: collect the directory, keep this file's drills
        selected = [f"--drillbook-feature={features.resolve()}"]
        features = features.parent
    shard = parse_shard(args.shard) if args.shard else None
    if args.jobs is not None:
        from drillbook.gherkin.jobs import parse_jobs  # pytest with it: only when asked

        parse_jobs(args.jobs)  # a bad value is a usage error here, before pytest starts
        if shard is not None:
            raise UsageError("give --jobs or --shard, not both: jobs split the run into shards themselves")
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
        f"--drillbook-reports={Path(args.reports).resolve()}",
        f"--drillbook-scenarios={Path(args.scenarios).resolve()}",
        f"--drillbook-run-id={run_id}",
        f"--drillbook-platform={args.platform}",
        f"--junitxml={run_dir / 'junit.xml'}",
        "-o",
        "junit_family=xunit1",
        *selected,
    ]
    if args.keyword:
        command += ["-k", args.keyword]
    if shard is not None:
        command.append(f"--drillbook-shard={shard}")
    if args.control:
        command += ["-o", f"drillbook_control={args.control}"]
    if args.jobs is not None:
        command.append(f"--drillbook-jobs={args.jobs}")
    where = f", shard {shard}" if shard is not None else ""
    print(f"drillbook gameday: run {run_id} on the {args.platform} platform{where}", flush=True)
    code = _wait_through_interrupts(subprocess.Popen(command))
    summary = run_dir / "summary.txt"
    if summary.is_file():
        print(summary.read_text(encoding="utf-8"))
        print(f"Report: {run_dir / 'index.html'}")
    else:
        print(f"drillbook gameday: no report was written (pytest exited {code})", file=sys.stderr)
    if code == 0 and args.fail_on_findings and _with_findings(run_dir):
        print("drillbook gameday: failing on findings (--fail-on-findings)", file=sys.stderr)
        return 1
    return code


def _with_findings(run_dir: Path) -> list[str]:
    """The drills that passed with findings, from the run's summary.json."""
    try:
        drills = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["drills"]
    except (OSError, ValueError, KeyError):
        return []
    return [d["drill"] for d in drills if d.get("verdict") == "passed_with_findings"]


def _wait_through_interrupts(child: subprocess.Popen[bytes]) -> int:
    """The run's exit code. Ctrl-C and SIGTERM are passed on to the run, which reverts and reports before it
    exits (130/143); they never kill it here, as ``subprocess.call`` would."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signal.SIGTERM))
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                child.send_signal(signal.SIGINT)  # a terminal's Ctrl-C reached it too: a second one is ignored
    finally:
        signal.signal(signal.SIGTERM, previous)
