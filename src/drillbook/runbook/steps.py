"""An incident's blocks to numbered steps, whichever of the three shapes the runbook uses.

1. An ordered list whose items hold fences (``1. **Check Pool**`` then a bash block): one step per item.
2. One code block with ``# N. title`` comments: one step per comment, with the commands under it.
3. Labelled blocks (``**Check**:`` then a fence, ``**Fix**:`` then bullets): one step per block.

A step without any command gets a ``prose`` command with effect ``manual``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from drillbook.runbook.commands import commands_from_code, normalise_language, prose_command
from drillbook.runbook.markdown import Block
from drillbook.runbook.model import Command, Step
from drillbook.runbook.sections import clean_inline, labels, numbered_comments

_COMMENT_STEP = re.compile(r"^\s*#\s*(\d{1,3})[.)]\s+(\S.*)$")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_TOOL_START = re.compile(
    r"^(sudo\s+)?(kubectl|psql|redis-cli|curl|helm|docker|aws|gcloud|az|terraform|mongo|mongosh|pg_dump|"
    r"systemctl|service|npm|git|ssh|watch|tail|grep|rm)\b"
)
_ACTION_LABELS = re.compile(
    r"fix|resolution|mitigation|action|solution|recover|remediat|workaround|steps|check|investigat|detect|"
    r"diagnos|verify|triage|procedure|runbook|commands|response",
    re.IGNORECASE,
)
_NOT_STEPS = re.compile(r"symptom|severity|time to resolve|response sla|trigger|alert|impact|cause", re.IGNORECASE)


def extract_steps(blocks: list[Block]) -> list[Step]:
    """The steps of one incident, numbered as the runbook numbers them."""
    if any(b.items and b.items[0].ordered and b.kind == "fence" for b in blocks):
        primary = _ordered_list_steps(blocks)
    else:
        scripts = [b for b in blocks if b.kind == "fence" and numbered_comments(b.text)]
        primary = [step for block in scripts for step in _comment_steps(block)]
        if not primary and any(b.items and b.items[0].ordered for b in blocks):
            primary = _ordered_list_steps(blocks)  # numbered prose: each item is a manual step
    if not primary:
        return _labelled_steps(blocks)
    first = min(step.line for step in primary)
    # Diagnosis blocks written before the numbered fix come first; numbering then runs through both.
    before = _labelled_steps([b for b in blocks if not b.items and b.line < first and not numbered_comments(b.text)])
    if not before:
        return primary
    return [replace(step, number=n) for n, step in enumerate([*before, *primary], start=1)]


def _ordered_list_steps(blocks: list[Block]) -> list[Step]:
    groups: dict[int, list[Block]] = {}
    numbers: dict[int, int | None] = {}
    for block in blocks:
        item = next((i for i in block.items if i.ordered), None)
        if item is None or block.kind not in ("paragraph", "fence"):
            continue
        groups.setdefault(item.line, []).append(block)
        numbers[item.line] = item.number
    steps: list[Step] = []
    for index, (line, group) in enumerate(groups.items(), start=1):
        paragraphs = [clean_inline(b.text) for b in group if b.kind == "paragraph"]
        title = paragraphs[0].rstrip(":") if paragraphs else f"Step {index}"
        prose = "\n".join(paragraphs[1:])
        commands = _fence_commands(group)
        if not commands:
            notes = [t.strip().lstrip("#").strip() for b in group if b.kind == "fence" for t in b.text.splitlines()]
            detail = "; ".join(n for n in [prose, *notes] if n)
            commands = _inline_commands(group) or [prose_command(_prose_action(title, detail), line)]
        steps.append(Step(numbers[line] or index, title, prose, line, tuple(commands)))
    return steps


def _comment_steps(block: Block) -> list[Step]:
    language = normalise_language(block.info)
    lines = block.text.splitlines()
    heads = [(i, m) for i, text in enumerate(lines) if (m := _COMMENT_STEP.match(text))]
    # Parse the block whole, so a variable set in step 1 is known in step 3, then share commands out by line.
    every = commands_from_code(block.text, language, block.line)
    steps: list[Step] = []
    for position, (index, match) in enumerate(heads):
        end = heads[position + 1][0] if position + 1 < len(heads) else len(lines)
        start = 0 if position == 0 else index + 1  # commands before "# 1." belong to the first step
        line = block.line + index
        commands = [c for c in every if block.line + start <= c.line < block.line + end]
        title = match.group(2).strip()
        prose = "\n".join(t.lstrip("# ").strip() for t in lines[index + 1 : end] if t.strip().startswith("#"))
        if not commands:
            commands = [prose_command(title, line)]
        steps.append(Step(int(match.group(1)), title, prose, line, tuple(commands)))
    return steps


def _labelled_steps(blocks: list[Block]) -> list[Step]:
    steps: list[Step] = []
    label = ""
    label_line = 0
    bullets: list[Block] = []

    def flush_bullets() -> None:
        if bullets and _ACTION_LABELS.search(label) and not _NOT_STEPS.search(label):
            prose = "\n".join(clean_inline(b.text) for b in bullets)
            commands = _inline_commands(bullets) or [prose_command(prose, bullets[0].line)]
            steps.append(
                Step(len(steps) + 1, label or "Actions", prose, label_line or bullets[0].line, tuple(commands))
            )
        bullets.clear()

    for block in blocks:
        if block.kind == "paragraph" and not block.items:
            flush_bullets()
            found = labels(block)
            label = found[-1][0].capitalize() if found else clean_inline(block.text).rstrip(":")
            label_line = block.line
        elif block.kind == "paragraph":
            bullets.append(block)
        elif block.kind == "fence":
            flush_bullets()
            commands = _fence_commands([block])
            if commands and not _NOT_STEPS.search(label):
                steps.append(Step(len(steps) + 1, label or f"Step {len(steps) + 1}", "", block.line, tuple(commands)))
    flush_bullets()
    return steps


def _fence_commands(blocks: list[Block]) -> list[Command]:
    commands: list[Command] = []
    for block in blocks:
        if block.kind == "fence":
            commands.extend(commands_from_code(block.text, normalise_language(block.info), block.line))
    return commands


def _inline_commands(blocks: list[Block]) -> list[Command]:
    commands: list[Command] = []
    for block in blocks:
        for match in _INLINE_CODE.finditer(block.text):
            if _TOOL_START.match(match.group(1).strip()):
                commands.extend(commands_from_code(match.group(1).strip(), "", block.line))
    return commands


def _prose_action(title: str, prose: str) -> str:
    return f"{title}: {prose}" if prose else title
