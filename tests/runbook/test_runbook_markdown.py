"""The markdown reader leaves out block rules a document cannot use (block quotes, link reference definitions,
setext headings), and the tokens it reads are exactly those of the full CommonMark parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drillbook.runbook.markdown import _parser, _unused_rules

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(ROOT.glob("scenarios/*/runbook.md")) + sorted((ROOT / "tests/runbook/corpus").glob("*.md"))


def _tokens(text: str, unused: frozenset[str]) -> list[tuple[object, ...]]:
    return [(t.type, t.tag, t.map, t.level, t.content, t.info, t.markup) for t in _parser(unused).parse(text)]


def _same_tokens(text: str) -> None:
    assert _tokens(text, _unused_rules(text)) == _tokens(text, frozenset())


@pytest.mark.parametrize("document", DOCUMENTS, ids=[f"{p.parent.name}/{p.stem}" for p in DOCUMENTS])
def test_every_seed_and_corpus_runbook_reads_the_same_tokens_with_the_rules_it_cannot_use_left_out(
    document: Path,
) -> None:
    _same_tokens(document.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Restart it\n---\n", "lheading"),
        ("Restart it\r\n===\r\n", "lheading"),
        ("- Restart it\n  -\n", "lheading"),
        ("> Restart it\n> ---\n", "lheading"),
        ("> quoted\n", "blockquote"),
        ("1. - > quoted in a list\n", "blockquote"),
        ("text\n   >quoted\n", "blockquote"),
        ("[runbook]: https://example.com/runbook\n", "reference"),
        ("[a\nb]: /url\n", "reference"),
        ("| Phase | Time |\n|---|---|\n| Fix | 4 hours |\n", "table"),
        ("| one column |\n---\n", "table"),
        ("- item\n\n  a | b\n  :-- | --:\n", "table"),
        ("> a | b\n> - | -\n", "table"),
        ("<details>\n<summary>More</summary>\n", "html_block"),
        ("text\n- <!-- hidden -->\n", "html_block"),
        ("1. step\n   > <div>\n", "html_block"),
    ],
)
def test_a_rule_the_document_may_use_is_kept(text: str, kept: str) -> None:
    assert kept not in _unused_rules(text)
    _same_tokens(text)


@pytest.mark.parametrize(
    ("text", "left_out"),
    [
        ("Restart it\n\n---\n", "lheading"),
        ("kubectl logs api 2>&1 | grep -c 'latency > 5'\n", "blockquote"),
        ("See [the runbook](https://example.com): it says so\n", "reference"),
        ("kubectl get pods | grep api\n\n---\n", "table"),
        ("kubectl logs <pod-name> -n prod\n", "html_block"),
    ],
)
def test_a_rule_that_cannot_match_is_left_out(text: str, left_out: str) -> None:
    assert left_out in _unused_rules(text)
    _same_tokens(text)


PIECES = st.sampled_from(
    ["#", "## ", "1. ", "- ", "* ", "+ ", "```", "~~~", "> ", ">", " >", "|", "---", "===", "-", "=", "***", "___",
     "[x]", "[x]: /u", "]:", "| a | b |", "|---|", ":-:", "- | -", "[", "]", ":", "<div>", "<!--", "-->", "<",
     "    ", "\t", " ", "  ", "\n", "\n\n", "\r\n", "\r", "\x00", "text", "kubectl get pods", "2>&1", "`", "*",
     "1)", "10. "]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES | st.text(alphabet="-=>[]: \t\n\r#*`", max_size=6), max_size=30).map("".join))
def test_any_markdownish_text_reads_the_same_tokens_with_the_unused_rules_left_out(text: str) -> None:
    _same_tokens(text)
