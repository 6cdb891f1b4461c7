"""Where a game day's time goes: per-phase totals and per-drill medians, read from the run's journal.

Two modes:

- ``bench_gameday.py JOURNAL_OR_RUN_DIR`` reads a finished run (``reports/<run>/journal.jsonl`` or the run
  directory, ``reports/latest`` works) and prints its breakdown; nothing runs.
- ``bench_gameday.py --run [PYTEST ARGS…]`` runs the game day first (``pytest features/ -p no:cacheprovider``
  plus the arguments, e.g. ``-k azora``) into a fresh run directory, then prints the same breakdown.

Printed: the run's wall time; per phase (provision, baseline, inject, breach, control, steps, recover,
teardown) its total seconds and share of the summed phase time, like ``provision: 144 s, 31%``, with the
median, worst and count per drill; then one line per drill. A phase is timed from its ``started`` to its
``finished``/``failed`` event; "baseline" includes waiting for traffic to reach the app, "teardown" is the
revert phase (revert the fault, stop traffic, close the sandbox). Speed is shown here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from drillbook.journal import PhaseChanged, RunFinished, RunStarted, VerdictReached, read_journal

ROOT = Path(__file__).resolve().parents[1]

#: Journal phase → the name printed (the order is a drill's).
PHASES = {
    "provision": "provision",
    "baseline": "baseline",
    "inject": "inject",
    "breach": "breach",
    "control": "control",
    "respond": "steps",
    "recover": "recover",
    "revert": "teardown",
}


@dataclass
class DrillTimes:
    """Seconds per phase of one drill, and its verdict."""

    drill: str
    phases: dict[str, float] = field(default_factory=dict)
    verdict: str = "(none)"

    @property
    def total(self) -> float:
        """Summed phase seconds."""
        return sum(self.phases.values())


@dataclass
class RunTimes:
    """A run's drills and wall time."""

    drills: list[DrillTimes]
    wall_s: float | None


def read_run(path: Path) -> RunTimes:
    """Phase durations per drill from a journal (or a run directory holding ``journal.jsonl``)."""
    journal = path / "journal.jsonl" if path.is_dir() else path
    events = read_journal(journal)
    drills: dict[str, DrillTimes] = {}
    open_phases: dict[tuple[str, str], float] = {}
    started = finished = None
    for event in events:
        if isinstance(event, RunStarted):
            started = event.ts
        elif isinstance(event, RunFinished):
            finished = event.ts
        elif isinstance(event, PhaseChanged):
            drill = drills.setdefault(event.drill, DrillTimes(event.drill))
            key = (event.drill, event.phase.value)
            if event.status.value == "started":
                open_phases[key] = event.ts
            elif key in open_phases:
                name = PHASES.get(event.phase.value, event.phase.value)
                drill.phases[name] = drill.phases.get(name, 0.0) + event.ts - open_phases.pop(key)
        elif isinstance(event, VerdictReached):
            drills.setdefault(event.drill, DrillTimes(event.drill)).verdict = event.verdict.value
    wall = finished - started if started is not None and finished is not None else None
    return RunTimes(list(drills.values()), wall)


def report(run: RunTimes) -> str:
    """The breakdown as printed."""
    lines: list[str] = []
    n = len(run.drills)
    summed = sum(d.total for d in run.drills)
    wall = f"{run.wall_s:.0f} s" if run.wall_s is not None else "unknown (no run_started/run_finished)"
    per_drill = f", {run.wall_s / n:.0f} s a drill" if run.wall_s is not None and n else ""
    lines.append(f"game day: {n} drills, wall {wall}{per_drill}; phases sum to {summed:.0f} s")
    per_phase: dict[str, list[float]] = defaultdict(list)
    for drill in run.drills:
        for name, seconds in drill.phases.items():
            per_phase[name].append(seconds)
    order = [name for name in PHASES.values() if name in per_phase]
    order += [name for name in per_phase if name not in order]
    for name in order:
        values = per_phase[name]
        total = sum(values)
        share = total / summed if summed else 0.0
        lines.append(
            f"  {name}: {total:.0f} s, {share:.0%}  (per drill: median {statistics.median(values):.1f} s, "
            f"worst {max(values):.1f} s, {len(values)} drills)"
        )
    lines.append("per drill (s):")
    header = "  " + f"{'drill':<34}" + "".join(f"{name[:9]:>10}" for name in order) + f"{'total':>9}  verdict"
    lines.append(header)
    for drill in run.drills:
        cells = "".join(f"{drill.phases[name]:>10.1f}" if name in drill.phases else f"{'-':>10}" for name in order)
        lines.append(f"  {drill.drill[:34]:<34}{cells}{drill.total:>9.1f}  {drill.verdict}")
    return "\n".join(lines)


def run_gameday(pytest_args: list[str]) -> Path:
    """Run the game day into a fresh run directory; return its journal."""
    run_id = time.strftime("bench-%Y%m%d-%H%M%S-") + secrets.token_hex(2)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "features/",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--drillbook-run-id={run_id}",
        *pytest_args,
    ]
    print("running:", " ".join(cmd), flush=True)
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, check=False)
    print(f"pytest exited {done.returncode} after {time.monotonic() - started:.0f} s", flush=True)
    return ROOT / "reports" / run_id / "journal.jsonl"


def main(argv: list[str] | None = None) -> int:
    """Read or run a game day and print its breakdown."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--run":
        journal = run_gameday(args[1:])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("journal", type=Path, help="a run's journal.jsonl or its run directory")
        journal = parser.parse_args(args).journal
    if not (journal / "journal.jsonl" if journal.is_dir() else journal).exists():
        print(f"bench_gameday: no journal at {journal}", file=sys.stderr)
        return 2
    print(report(read_run(journal)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
