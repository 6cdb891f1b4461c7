"""The parser reads the hand-written corpus (``tests/runbook/corpus/``) the way the sidecars say an SRE reads it.

Two kinds of test: every sidecar is a valid expected model of its document (always meaningful, whatever the
parser does), and the parser meets issue 12's goals on the whole corpus. Figures and per-document failures:
``.venv/bin/python bench/bench_corpus.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.corpus_score import CORPUS, check_sidecar, corpus_documents, score_corpus

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
