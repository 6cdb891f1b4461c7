"""Score the parser on the hand-written runbook corpus and print issue 12's figures and each document's failures.

Run: ``.venv/bin/python bench/bench_corpus.py [-v]`` (``-v`` lists every missed and extra command, not just three).
Goals: incidents right in >= 95% of documents, command recall >= 95%, precision >= 98%, destructive/external
recall 100%, whole-corpus parse < 1 s of CPU (wall-clock shown too: a busy machine inflates it), and every command
a sidecar puts on a branch ("Or restart") found on it. Sidecar format and scoring: ``tests/runbook/corpus/README.md``.
"""

from __future__ import annotations

import sys

from corpus_score import DocumentScore, score_corpus

GOALS = {"incidents": 0.95, "recall": 0.95, "precision": 0.98, "danger recall": 1.0, "branches": 1.0}
PARSE_GOAL_S = 1.0


def _lines(label: str, items: list[str], limit: int | None) -> list[str]:
    shown = items if limit is None else items[:limit]
    more = f" (+{len(items) - len(shown)} more)" if len(shown) < len(items) else ""
    return [f"    {label}: {text[:150]}" for text in shown] + ([f"    {label}:{more}"] if more else [])


def _report(document: DocumentScore, limit: int | None) -> list[str]:
    lines = []
    for problem in document.incident_problems:
        lines.append(f"    incidents: {problem}")
    lines += _lines("danger", document.danger_missed, limit)
    lines += _lines("missed", document.missed, limit)
    lines += _lines("extra", document.extra, limit)
    lines += _lines("branch", document.branch_wrong, limit)
    return lines


def main() -> None:
    """Print the figures against the goals, then the documents that fall short."""
    verbose = "-v" in sys.argv[1:]
    score = score_corpus()
    score = score_corpus()  # second run: timing without import and regex-compile warm-up
    figures = {
        "incidents": score.incident_accuracy,
        "recall": score.command_recall,
        "precision": score.command_precision,
        "danger recall": score.danger_recall,
        "branches": score.branch_accuracy,
    }
    docs = score.documents
    print(
        f"corpus: {len(docs)} runbooks, {sum(d.expected_commands for d in docs)} expected commands, "
        f"{sum(d.dangerous for d in docs)} dangerous, {sum(d.parser_commands for d in docs)} parser commands"
    )
    for name, value in figures.items():
        verdict = "ok" if value >= GOALS[name] else "BELOW GOAL"
        print(f"{name:<15}{value:>8.1%}   goal >= {GOALS[name]:.0%}   {verdict}")
    agree = score.effect_agreement
    print(f"{'effects agree':<15}{agree:>8.1%}   (information: found commands with an accepted effect)")
    verdict = "ok" if score.parse_cpu_seconds < PARSE_GOAL_S else "BELOW GOAL"
    cpu_ms, wall_ms = score.parse_cpu_seconds * 1000, score.parse_seconds * 1000
    print(
        f"{'parse time':<15}{cpu_ms:>6.0f} ms   goal < {PARSE_GOAL_S * 1000:.0f} ms   {verdict} "
        f"(CPU; wall-clock {wall_ms:.0f} ms)"
    )
    failing = [d for d in docs if not d.incidents_right or d.missed or d.extra or d.danger_missed or d.branch_wrong]
    print(f"\n{len(failing)} of {len(docs)} documents not read exactly as expected:")
    for document in failing:
        print(
            f"  {document.name}: found {document.found_commands}/{document.expected_commands}, "
            f"extra {len(document.extra)}, incidents {'ok' if document.incidents_right else 'WRONG'}"
        )
        for line in _report(document, None if verbose else 3):
            print(line)


if __name__ == "__main__":
    main()
