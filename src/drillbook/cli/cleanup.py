"""``drillbook cleanup``: undo what a killed run left behind, from its journal alone."""

from __future__ import annotations

import argparse
from pathlib import Path

from drillbook.errors import DrillbookError, UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cleanup`` subcommand."""
    parser = subparsers.add_parser(
        "cleanup",
        help="revert faults a killed run left applied (reads the run's journal)",
        description="Read RUN_DIR/journal.jsonl and undo every fault whose revert was journaled but never "
        "completed. Safe to run twice.",
    )
    parser.add_argument("run_dir", nargs="?", default="reports/latest", help="run directory (default: reports/latest)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Undo pending faults; print what was done."""
    from drillbook.faults.base import fault_class
    from drillbook.journal import FaultReverted, FaultRevertRecorded, read_journal

    run_dir = Path(args.run_dir)
    journal = run_dir / "journal.jsonl"
    if not journal.is_file():
        raise UsageError(f"no journal at {journal}; pass the run directory of the run to clean up")
    from drillbook.platform.docker.reap import reap_docker_sandboxes  # docker sandboxes: containers, temp dirs

    reap_failures = reap_docker_sandboxes(run_dir, print)
    pending: dict[tuple[str, str], FaultRevertRecorded] = {}
    for event in read_journal(journal):
        if isinstance(event, FaultRevertRecorded):
            pending[(event.drill, event.fault)] = event
        elif isinstance(event, FaultReverted):
            pending.pop((event.drill, event.fault), None)
    if not pending:
        print(f"{run_dir}: nothing to clean up: every injected fault was reverted")
        return 1 if reap_failures else 0
    failures = 0
    for (drill, fault), record in pending.items():
        try:
            fault_class(fault).undo_from_spec(record.spec)
        except (DrillbookError, OSError) as exc:
            failures += 1
            print(f"{drill}: could not revert {fault} ({record.revert}): {exc}")
        except Exception as exc:  # the cluster may be long gone; say so and go on with the others
            failures += 1
            print(f"{drill}: could not revert {fault} ({record.revert}): {type(exc).__name__}: {exc}")
        else:
            print(f"{drill}: reverted {fault}: {record.revert}")
    return 1 if failures or reap_failures else 0
