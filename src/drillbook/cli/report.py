"""``drillbook report RUN_DIR``: render a run's journal into HTML, JSON and Markdown."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from drillbook.journal import JOURNAL_NAME
from drillbook.report import render_reports, update_latest


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report",
        help="render a run's journal into index.html, summary.json and summary.md",
        description=(
            "Render reports/<run-id>/journal.jsonl into index.html, summary.json and summary.md in the same "
            "folder. The Markdown digest is appended to $GITHUB_STEP_SUMMARY when that variable is set."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory holding journal.jsonl")
    parser.set_defaults(func=run)


def _is_newest(run_dir: Path) -> bool:
    """Whether ``run_dir``'s journal is the most recently written among its sibling runs."""
    mine = (run_dir / JOURNAL_NAME).stat().st_mtime
    siblings = (p / JOURNAL_NAME for p in run_dir.parent.iterdir() if p.is_dir() and not p.is_symlink())
    return all(s.stat().st_mtime <= mine for s in siblings if s.is_file())


def run(args: argparse.Namespace) -> int:
    """Render the reports and print where they are."""
    run_dir: Path = args.run_dir
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
