"""Markdown tokens to flat blocks with 1-based source lines, grouped into heading sections.

markdown-it-py does the parsing (CommonMark plus tables); this module only flattens its token stream
into the few block kinds the runbook parser needs, remembering which list item each block sits in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

BlockKind = Literal["heading", "paragraph", "fence", "row", "html"]


@dataclass(frozen=True)
class ListItem:
    """One enclosing list item: ordered or not, its number when ordered, and its first line."""

    ordered: bool
    number: int | None
    line: int


@dataclass(frozen=True)
class Block:
    """One block of the document in source order.

    ``text`` is the inline source for headings and paragraphs, the code for fences, the joined cells for
    table rows; ``line`` is where the block (for fences: the first code line) starts.
    """

    kind: BlockKind
    text: str
    line: int
    level: int = 0
    info: str = ""
    items: tuple[ListItem, ...] = ()
    cells: tuple[str, ...] = ()
    header: tuple[str, ...] = ()


@dataclass
class Section:
    """A heading and the blocks up to the next heading (the document preamble has level 0)."""

    title: str
    level: int
    line: int
    blocks: list[Block] = field(default_factory=list)


@cache
def _parser(unused: frozenset[str] = frozenset()) -> MarkdownIt:
    """A CommonMark parser (with tables) without the block rules in ``unused``."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    # We read inline tokens' raw content only; skipping inline parsing saves about a fifth of the time.
    parser.disable(["inline", "text_join"], ignoreInvalid=True)
    if unused:
        parser.disable(sorted(unused))
    return parser


_BEFORE_QUOTE = re.compile(r"[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)*")
"""What may stand before the ``>`` that starts a block quote on its line: indentation and list markers."""
_RULE_LINE = re.compile(r"\n[ \t>]*[|:=-][|:= \t-]*(?=\n|\Z)")
"""A line of only ``=``, ``-``, ``|``, ``:`` and spaces (after indentation and quote markers): the only lines that
can underline a setext heading (``===``, ``---``) or be a table's delimiter row (``|---|:--:|``)."""
_TAG_START = re.compile(r"\n[ \t>*+\-.)0-9]*<")
"""A ``<`` after nothing but indentation, quote and list markers on its line: where an HTML block can begin."""
_UNDERLINE = re.compile(r"[ \t>]*(?:=+|-+)[ \t]*")
_LINE_BREAK = re.compile(r"\r\n?")


def _unused_rules(text: str) -> frozenset[str]:
    """Block rules that cannot match anywhere in ``text``, so that leaving them out gives the same tokens.

    markdown-it tries every block rule at every line and every paragraph line; most runbooks have no block quote,
    no link reference definition, no setext heading, no HTML block and often no table, and these fewer rules per
    line are a fifth of the parse. Each test here is looser than its rule: when in doubt, the rule stays.
    """
    unused = set()
    if "\r" in text:
        text = _LINE_BREAK.sub("\n", text)  # as markdown-it's normalize step reads it
    elif "\0" not in text:
        unused.add("normalize")  # no line break but "\n" and no NUL: normalizing would change nothing
    if "]:" not in text:
        unused.add("reference")  # a definition is "[label]: destination"
    if not _may_quote(text):
        unused.add("blockquote")
    if "<" not in text or _TAG_START.search("\n" + text) is None:
        unused.add("html_block")
    heading = table = False
    for match in _RULE_LINE.finditer("\n" + text):  # the "\n" lets the first line match too
        start = match.start() - 1  # where the line's "\n" is in text (-1: the first line)
        if not heading and _UNDERLINE.fullmatch(match.group(0), 1):
            heading = _follows_text(text, start)  # an underline right after a blank line (a rule) is no heading
        if not table and "=" not in match.group(0):
            table = _follows_text(text, start, "|")  # a table's header row, right above this one, has a "|"
    if not heading:
        unused.add("lheading")
    if not table:
        unused.add("table")
    return frozenset(unused)


def _may_quote(text: str) -> bool:
    """Whether some ``>`` starts the content of its line (most ``>`` are redirects and comparisons)."""
    at = text.find(">")
    while at >= 0:
        if _BEFORE_QUOTE.fullmatch(text, text.rfind("\n", 0, at) + 1, at):
            return True
        at = text.find(">", at + 1)
    return False


def _follows_text(text: str, newline: int, needle: str = "") -> bool:
    """Whether the line that ends at ``newline`` has anything but spaces and tabs on it (and ``needle`` in it)."""
    if newline < 0:
        return False  # the first line: nothing above it
    line = text[text.rfind("\n", 0, newline) + 1 : newline]
    return bool(line.strip(" \t")) and needle in line


def parse_blocks(text: str) -> list[Block]:
    """Flatten ``text`` into blocks in source order."""
    tokens = _parser(_unused_rules(text)).parse(text)
    blocks: list[Block] = []
    lists: list[bool] = []
    items: list[ListItem] = []
    header: tuple[str, ...] = ()
    row: list[str] = []
    in_head = False
    row_line = 1
    pending: Token | None = None
    line = 1
    for token in tokens:
        kind = token.type
        if kind in _IGNORED:
            continue  # most closing tags: nothing to flatten, and no map to take a line from
        if token.map:
            line = token.map[0] + 1  # tokens without a map (closing tags) keep the line before them
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append(kind == "ordered_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            ordered = bool(lists and lists[-1])
            number = int(token.info) if ordered and token.info.isdigit() else None
            items.append(ListItem(ordered, number, line))
        elif kind == "list_item_close":
            items.pop()
        elif kind in ("heading_open", "paragraph_open"):
            pending = token
        elif kind == "inline" and pending is not None:
            if pending.type == "heading_open":
                blocks.append(Block("heading", token.content.strip(), line, level=int(pending.tag[1:])))
            else:
                blocks.append(Block("paragraph", token.content, line, items=tuple(items)))
            pending = None
        elif kind == "inline":
            row.append(token.content.strip())
        elif kind in ("fence", "code_block"):
            info = token.info.strip() if kind == "fence" else ""
            # Fence content starts on the line after the opening marker; indented code on its own line.
            start = line + 1 if kind == "fence" else line
            blocks.append(Block("fence", token.content, start, info=info, items=tuple(items)))
        elif kind == "html_block":
            blocks.append(Block("html", token.content, line, items=tuple(items)))
        elif kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row, row_line = [], line
        elif kind == "tr_close":
            if in_head:
                header = tuple(row)
            else:
                blocks.append(Block("row", " | ".join(row), row_line, cells=tuple(row), header=header))
    return blocks


_IGNORED = frozenset({"paragraph_close", "heading_close", "td_close", "th_close", "tbody_close", "table_close"})
"""Closing tags the flattening does nothing with (markdown-it gives no closing tag a map: skipping them keeps every
line the same)."""


def split_sections(blocks: list[Block]) -> list[Section]:
    """Group blocks under their headings; the first section (level 0) holds anything before the first heading."""
    sections = [Section(title="", level=0, line=1)]
    for block in blocks:
        if block.kind == "heading":
            sections.append(Section(title=block.text, level=block.level, line=block.line))
        else:
            sections[-1].blocks.append(block)
    return sections
