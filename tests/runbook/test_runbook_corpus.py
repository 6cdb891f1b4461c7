"""The parser reads the hand-written corpus (``tests/runbook/corpus/``) the way the sidecars say an SRE reads it.

Two kinds of test: every sidecar is a valid expected model of its document (always meaningful, whatever the
parser does), and the parser meets issue 12's goals on the whole corpus. Figures and per-document failures:
``.venv/bin/python bench/bench_corpus.py``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from bench.corpus_score import (
    CORPUS,
    Expected,
    check_sidecar,
    corpus_documents,
    load_expected,
    score_corpus,
    score_document,
)

from drillbook.runbook import Command, Effect, Incident, Runbook, Step, TimeTarget, TimeTargetKind

DOCUMENTS = corpus_documents()


def test_the_corpus_has_at_least_forty_runbooks_each_with_a_sidecar() -> None:
    assert len(DOCUMENTS) >= 40
    sidecars = sorted(p.name.removesuffix(".expected.yaml") for p in CORPUS.glob("*.expected.yaml"))
    assert sidecars == [p.stem for p in DOCUMENTS]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[p.stem for p in DOCUMENTS])
def test_each_sidecar_is_valid_and_quotes_its_document(document: Path) -> None:
    assert check_sidecar(document) == []


def test_the_corpus_runbooks_are_thirty_to_three_hundred_lines() -> None:
    sizes = {p.stem: p.read_text(encoding="utf-8").count("\n") + 1 for p in DOCUMENTS}
    assert {name: n for name, n in sizes.items() if not 30 <= n <= 300} == {}


def test_the_parser_meets_the_corpus_goals() -> None:
    score = score_corpus()
    failures = [
        f"{d.name}: {'; '.join(d.incident_problems)} missed={d.missed[:3]} extra={d.extra[:3]}"
        for d in score.documents
        if not d.incidents_right or d.missed or d.extra
    ]
    figures = (
        f"incidents {score.incident_accuracy:.1%}, recall {score.command_recall:.1%}, "
        f"precision {score.command_precision:.1%}, danger recall {score.danger_recall:.1%}"
    )
    assert score.incident_accuracy >= 0.95, (figures, failures)
    assert score.command_recall >= 0.95, (figures, failures)
    assert score.command_precision >= 0.98, (figures, failures)
    assert score.danger_recall == 1.0, (figures, [m for d in score.documents for m in d.danger_missed])
    assert score.branch_accuracy == 1.0, [m for d in score.documents for m in d.branch_wrong]


def _as_parsed(expected: Expected, drop_first_command: bool = False, shift_target: float = 0) -> Runbook:
    """A runbook model that reads each document exactly as its sidecar says (optionally with one mistake)."""
    incidents = []
    for number, want in enumerate(expected.incidents):
        commands = [
            Command(c.text, 1, "bash", "", _effect_for(c.effects), branch=c.branch)
            for c in want.commands[1 if drop_first_command and number == 0 else 0 :]
        ]
        target = None
        if want.time_target_s is not None:
            target = TimeTarget(TimeTargetKind.MTTR, "", want.time_target_s + shift_target, 1)
        steps = (Step(1, "all", "", 1, tuple(commands)),)
        incidents.append(Incident(want.title, want.title, 1, time_target=target, steps=steps))
    return Runbook(Path(expected.name), expected.name, incidents=tuple(incidents))


def _effect_for(accepted: frozenset[str]) -> Effect:
    known = sorted(e for e in accepted if e in {m.value for m in Effect})
    return Effect(known[0]) if known else Effect.MUTATING


def _expected(document: Path) -> Expected:
    return load_expected(document.with_name(document.stem + ".expected.yaml"))


def test_reading_every_document_as_its_sidecar_scores_full_marks() -> None:
    scores = [score_document(_expected(d), _as_parsed(_expected(d))) for d in DOCUMENTS]
    wrong = [
        s.name for s in scores if not s.incidents_right or s.missed or s.extra or s.danger_missed or s.branch_wrong
    ]
    assert wrong == []
    assert sum(s.branches_compared for s in scores) >= 6  # the corpus does put commands on branches


def test_a_missed_command_or_a_wrong_target_is_scored_as_a_failure() -> None:
    document = CORPUS / "redis-memory-full.md"
    missed = score_document(_expected(document), _as_parsed(_expected(document), drop_first_command=True))
    late = score_document(_expected(document), _as_parsed(_expected(document), shift_target=60))
    assert (missed.found_commands, missed.expected_commands, missed.incidents_right) == (9, 10, True)
    assert (late.found_commands, late.incidents_right) == (10, False)


def test_a_command_found_off_its_branch_is_scored_as_a_wrong_branch() -> None:
    expected = _expected(CORPUS / "ledger-api-or-alternatives.md")
    parsed = _as_parsed(expected)
    first = parsed.incidents[0]
    commands = tuple(replace(c, branch=None) for c in first.steps[0].commands)
    unbranched_first = replace(first, steps=(replace(first.steps[0], commands=commands),))
    unbranched = replace(parsed, incidents=(unbranched_first, *parsed.incidents[1:]))
    score = score_document(expected, unbranched)
    assert (score.branches_compared, score.branches_agreed, score.found_commands) == (6, 4, 13)
    assert len(score.branch_wrong) == 2


def test_a_parser_failure_scores_the_document_as_unread() -> None:
    score = score_document(_expected(CORPUS / "redis-memory-full.md"), "RunbookParseError: boom")
    assert (score.incidents_right, score.found_commands, score.dangerous_found) == (False, 0, 0)
