"""Parse the five seed runbooks N times each and print the median milliseconds per parse, per file and in total.

Run: ``.venv/bin/python bench/bench_parse.py [N]`` (default N=40). Target: well under 50 ms for all five.
The median of N parses is reported (the mean would mostly measure whatever else the machine was doing);
the "markdown" column is markdown-it-py's block parse plus our flattening, the rest is the runbook model
(incidents, steps, commands, effects).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from drillbook.runbook import parse_runbook
from drillbook.runbook.markdown import parse_blocks

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SEEDS = ("azora", "zephyr-voting", "architect-api", "phase5-todo", "chat-rooms")
TARGET_MS = 50.0


def _median_ms(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    """Time the parser on each seed and print a small table."""
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    for name in SEEDS:  # warm imports and regex caches outside the timing
        parse_runbook(SCENARIOS / name / "runbook.md")
    gc.collect()
    print(f"{'runbook':<16}{'lines':>7}{'incidents':>11}{'ms/parse':>10}{'markdown ms':>13}")
    total = markdown_total = 0.0
    for name in SEEDS:
        path = SCENARIOS / name / "runbook.md"
        text = path.read_text(encoding="utf-8")
        runbook = parse_runbook(path)
        per_parse = _median_ms(lambda path=path: parse_runbook(path), rounds)
        markdown = _median_ms(lambda text=text: parse_blocks(text), rounds)
        total += per_parse
        markdown_total += markdown
        print(f"{name:<16}{text.count(chr(10)):>7}{len(runbook.incidents):>11}{per_parse:>10.2f}{markdown:>13.2f}")
    print(f"{'total':<16}{'':>18}{total:>10.2f}{markdown_total:>13.2f}")
    print(
        f"total is {total / TARGET_MS:.2f}x the {TARGET_MS:.0f} ms target; "
        f"markdown parsing is {markdown_total / total:.0%} of it"
    )


if __name__ == "__main__":
    main()
