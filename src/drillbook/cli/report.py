"""``drillbook report RUN_DIR``: render a run's journal into HTML, JSON and Markdown.

``drillbook report --merge SHARD_DIR… [--out DIR]`` first merges the run directories of a sharded game day
(``drillbook gameday --shard i/n``) into one run directory: one journal, one report, one JUnit file.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from drillbook.errors import UsageError
from drillbook.journal import JOURNAL_NAME, JournalWriter, load_journal
from drillbook.journal.merge import merge_journals
from drillbook.journal.reader import JournalError, lines_without_an_event
from drillbook.report import render_reports, update_latest
from drillbook.report.junit_merge import merge_junit

JUNIT_NAME = "junit.xml"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="render a run's journal into index.html, summary.json and summary.md (or merge shards first)",
        description=(
            "Render reports/<run-id>/journal.jsonl into index.html, summary.json and summary.md in the same "
            "folder. The Markdown digest is appended to $GITHUB_STEP_SUMMARY when that variable is set. "
            "With --merge, first merge the run directories of a sharded game day into one."
        ),
    )
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", type=Path, nargs="?", help="a run directory holding journal.jsonl"
    )
    parser.add_argument(
        "--merge",
        metavar="SHARD_DIR",
        type=Path,
        nargs="+",
        help="run directories of the shards of one game day (drillbook gameday --shard i/n) to merge",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="with --merge: the merged run directory (default: merged-<timestamp> beside the first shard)",
    )
    parser.set_defaults(func=run)


def _is_newest(run_dir: Path) -> bool:
    """Whether ``run_dir``'s journal is the most recently written among its sibling runs."""
    mine = (run_dir / JOURNAL_NAME).stat().st_mtime
    siblings = (p / JOURNAL_NAME for p in run_dir.parent.iterdir() if p.is_dir() and not p.is_symlink())
    return all(s.stat().st_mtime <= mine for s in siblings if s.is_file())


def merge_runs(shards: list[Path], out: Path | None) -> Path:
    """Merge the shards' journals and JUnit files into a new run directory and return it."""
    for shard in shards:
        if not (shard / JOURNAL_NAME).is_file():
            raise UsageError(f"expected {JOURNAL_NAME} in {shard}; pass the run directories the shards wrote")
    run_id = out.name if out is not None else "merged-" + time.strftime("%Y%m%d-%H%M%S")
    target = out if out is not None else shards[0].resolve().parent / run_id
    if (target / JOURNAL_NAME).exists():
        raise UsageError(f"{target} already holds a journal; choose another --out so no run is overwritten")
    events = merge_journals([load_journal(shard / JOURNAL_NAME) for shard in shards], run_id)
    with JournalWriter(target / JOURNAL_NAME, durable=False) as writer:
        for event in events:
            writer.write(event)
    junits = [shard / JUNIT_NAME for shard in shards if (shard / JUNIT_NAME).is_file()]
    if junits:
        cases = merge_junit(junits, target / JUNIT_NAME)
        print(f"junit:    {target / JUNIT_NAME} ({cases} tests from {len(junits)} shards)")
    missing = [str(shard) for shard in shards if not (shard / JUNIT_NAME).is_file()]
    if missing:
        print(f"note:     no {JUNIT_NAME} in {', '.join(missing)}; the merged JUnit file lacks those shards")
    return target


def refuse_an_empty_journal(run_dir: Path) -> None:
    """Stop before rendering when the journal holds no event, so no report claims a run that recorded nothing.

    Raises:
        JournalError: the journal is empty, blank, or only corrupt or unknown lines.
    """
    path = run_dir / JOURNAL_NAME
    if not path.is_file():
        return  # render_reports says what is missing
    try:
        lines = lines_without_an_event(path)
    except OSError:
        return  # render_reports reports the read error
    if lines is None:
        return
    if lines:
        seen = f"holds no readable event (none of its {len(lines)} line(s) is one; the first is line {lines[0]})"
    else:
        seen = "is empty"
    raise JournalError(
        f"{path}: the journal {seen}, so no drill was recorded and no report was written; run the drills first "
        "(drillbook gameday) or pass the run directory of a run that got further"
    )


def run(args: argparse.Namespace) -> int:
    """Render the reports and print where they are."""
    if args.merge:
        if args.run_dir is not None:
            raise UsageError("give either RUN_DIR or --merge SHARD_DIR…, not both; use --out to name the merged run")
        run_dir = merge_runs(list(args.merge), args.out)
        print(f"merged:   {len(args.merge)} shards into {run_dir}")
    elif args.run_dir is None:
        raise UsageError("expected RUN_DIR (a run directory holding journal.jsonl) or --merge SHARD_DIR…")
    else:
        run_dir = args.run_dir
    refuse_an_empty_journal(run_dir)
    # Read here, at the edge, so the Python API stays free of environment lookups.
    summary_env = os.environ.get("GITHUB_STEP_SUMMARY")
    paths = render_reports(run_dir, step_summary=Path(summary_env) if summary_env else None)
    print(f"html:     {paths.html}")
    print(f"json:     {paths.json}")
    print(f"markdown: {paths.markdown}")
    if paths.step_summary is not None:
        print(f"appended: {paths.step_summary}")
    if _is_newest(run_dir):
        print(f"latest:   {update_latest(run_dir.parent, run_dir)}")
    return 0
