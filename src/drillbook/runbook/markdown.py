"""Markdown tokens to flat blocks with 1-based source lines, grouped into heading sections.

markdown-it-py does the parsing (CommonMark plus tables); this module only flattens its token stream
into the few block kinds the runbook parser needs, remembering which list item each block sits in.
"""

from __future__ import annotations

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
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    # We read inline tokens' raw content only; skipping inline parsing saves about a fifth of the time.
    parser.disable(["inline", "text_join"], ignoreInvalid=True)
    return parser


def parse_blocks(text: str) -> list[Block]:
    """Flatten ``text`` into blocks in source order."""
    tokens = _parser().parse(text)
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


def split_sections(blocks: list[Block]) -> list[Section]:
    """Group blocks under their headings; the first section (level 0) holds anything before the first heading."""
    sections = [Section(title="", level=0, line=1)]
    for block in blocks:
        if block.kind == "heading":
            sections.append(Section(title=block.text, level=block.level, line=block.line))
        else:
            sections[-1].blocks.append(block)
    return sections
