"""Parse the five seed runbooks N times and print per-file and total milliseconds per pass.

Run: ``.venv/bin/python bench/bench_parse.py [N]`` (default N=20). Target: well under 50 ms for all five.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from drillbook.runbook import parse_runbook
from drillbook.runbook.markdown import parse_blocks

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SEEDS = ("azora", "zephyr-voting", "architect-api", "phase5-todo", "chat-rooms")


def main() -> None:
    """Time the parser on each seed and print a small table."""
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for name in SEEDS:  # warm imports and regex caches outside the timing
        parse_runbook(SCENARIOS / name / "runbook.md")
    total = 0.0
    print(f"{'runbook':<16}{'lines':>7}{'incidents':>11}{'ms/parse':>10}{'markdown ms':>13}")
    markdown_total = 0.0
    for name in SEEDS:
        path = SCENARIOS / name / "runbook.md"
        start = time.perf_counter()
        for _ in range(rounds):
            runbook = parse_runbook(path)
        per_parse = (time.perf_counter() - start) * 1000 / rounds
        total += per_parse
        text = path.read_text(encoding="utf-8")
        start = time.perf_counter()
        for _ in range(rounds):
            parse_blocks(text)
        markdown = (time.perf_counter() - start) * 1000 / rounds
        markdown_total += markdown
        print(f"{name:<16}{text.count(chr(10)):>7}{len(runbook.incidents):>11}{per_parse:>10.2f}{markdown:>13.2f}")
    print(f"{'total':<16}{'':>18}{total:>10.2f}{markdown_total:>13.2f}")
    print(f"total is {total / 50:.2f}x the 50 ms target; markdown-it tokenising is {markdown_total / total:.0%} of it")


if __name__ == "__main__":
    main()
