"""An incident's blocks to numbered steps, read in document order as an on-call engineer reads them.

Shapes, which one incident may mix:

1. Ordered list items (``1. **Check Pool**`` then a bash block, or prose only): one step per item. A code block
   written right after an item without indentation still belongs to it.
2. One code block with ``# N. title`` comments: one step per comment, with the commands under it.
3. ``Step 1. …`` paragraphs and ``### Step 1:`` sub-headings: one step each, with the blocks under them.
4. Labelled blocks (``**Check**:`` then a fence, ``**Mitigation**:`` then bullets, a ``### Resolution``
   sub-heading), before *or after* the numbered steps: one step per label. Its bullets written as
   ``**Pool exhausted**: …`` are alternatives: each is a branch of that one step.

Steps are numbered 1..n in reading order. A step without any command gets a ``prose`` command with effect
``manual``; labels that describe rather than prescribe (symptoms, impact, cause) give no step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from drillbook.runbook.commands import commands_from_code, normalise_language, prose_command, reads_as_command
from drillbook.runbook.markdown import Block
from drillbook.runbook.model import Command, Effect, Step
from drillbook.runbook.sections import clean_inline, labels, numbered_comments

_NOUN_BEFORE = re.compile(r"\b(?:a|an|the|this|that|each|every|any|no)\s+$", re.IGNORECASE)
_COMMENT_STEP = re.compile(r"^\s*#\s*(\d{1,3})[.)]\s+(\S.*)$")
_INLINE_CODE = re.compile(r"(`+)([^`\n]+?)\1")
_STEP_PARAGRAPH = re.compile(r"^\s*(?:\*\*|__)?\s*Step\s+(\d{1,3})\s*[.:)\-–—]\s*(.*)$", re.IGNORECASE)
_NOT_STEPS = re.compile(
    r"symptom|severity|time to resolve|response sla|trigger|^alerts?\b|impact|cause|^owner|^team|^contact|"
    r"^escalat|^expected|^output|^example output|^sample output|^note|^background|^context|^overview|^summary|"
    r"^description|^prereq|^when to use|^related|^see also|^references?|^links?|^last updated|^tags?$|"
    r"^dashboard|^priority|^mttr|^rto|^sla|^slo|^threshold|^service|^affected|^detection time|^when\b|^why\b|"
    r"^who\b|^signs|^indicators|^likely|^possible causes|^common causes|^owner|^on-call|^frequency|^duration",
    re.IGNORECASE,
)
_REMEDY_LABELS = re.compile(
    r"fix|resol|mitigat|option|solution|workaround|remed|recover|action|alternativ|approach|scenario|"
    r"if\b|case|rollback|restor",
    re.IGNORECASE,
)
_ACTION_LABELS = re.compile(
    r"fix|resol|mitigat|action|solution|recover|remed|workaround|steps|check|investigat|detect|diagnos|verif|"
    r"validat|triage|procedure|runbook|commands|response|option|rollback|restor|restart|scale|escalat|"
    r"immediate|short-term|long-term|follow-up|cleanup|clean up|what to do|how to|next|then|first|finally",
    re.IGNORECASE,
)
_BRANCH_BULLET = re.compile(r"^\s*(?:\*\*|__)([^*_\n]{1,60}?)(?:\*\*|__)\s*[:.\-–—]?\s*(.*)$", re.DOTALL)
_IF_BULLET = re.compile(r"^\s*((?:if|when|for|option\s+\w+|scenario\s+\w+)\b[^:\n]{1,60}):\s+(\S.*)$", re.I | re.S)


@dataclass
class _Unit:
    """One step in the making: its title, where it starts, and the blocks (with branch labels) it owns."""

    title: str
    line: int
    kind: str  # "item", "label", "script"
    blocks: list[tuple[Block, str | None]] = field(default_factory=list)
    number: int | None = None


def extract_steps(blocks: list[Block]) -> list[Step]:
    """The steps of one incident, numbered 1..n in the order the runbook gives them."""
    steps: list[Step] = []
    for unit in _alternatives(_units(blocks)):
        steps.extend(_unit_steps(unit))
    return [
        replace(step, number=n, title=step.title or f"Step {n}") if step.number != n or not step.title else step
        for n, step in enumerate(steps, start=1)
    ]


def _units(blocks: list[Block]) -> list[_Unit]:
    units: list[_Unit] = []
    current: _Unit | None = None
    items: dict[int, _Unit] = {}
    for block in blocks:
        outer = block.items[0] if block.items else None
        if outer is not None and outer.ordered and block.kind in ("paragraph", "fence"):
            unit = items.get(outer.line)
            if unit is None:
                title = clean_inline(block.text).rstrip(":") if block.kind == "paragraph" else ""
                unit = _Unit(title, outer.line, "item", number=outer.number)
                items[outer.line] = unit
                units.append(unit)
            unit.blocks.append((block, None))
            current = unit
            continue
        if block.kind == "fence" and not block.items and numbered_comments(block.text):
            units.append(_Unit("", block.line, "script", [(block, None)]))
            current = None
            continue
        if block.kind == "paragraph" and not block.items:
            step_match = _STEP_PARAGRAPH.match(block.text)
            if step_match is not None:
                rest = step_match.group(2).strip()
                title, _, body = rest.partition("\n")
                title = clean_inline(title).strip("*_ ").rstrip(":") or f"Step {step_match.group(1)}"
                current = _Unit(title, block.line, "item", number=int(step_match.group(1)))
                units.append(current)
                if body.strip():
                    current.blocks.append((replace(block, text=body, line=block.line + 1), None))
                if "`" in rest.partition("\n")[0] or not body.strip():
                    current.blocks.append((replace(block, text=rest.partition("\n")[0]), None))
                continue
            if current is not None and current.kind == "item" and current.blocks and not _is_label(block):
                current.blocks.append((block, None))  # prose under a "Step 1." paragraph
                continue
            found = labels(block)
            empty_option = current is not None and current.kind == "label" and not current.blocks
            if not found and empty_option and current is not None and _ALTERNATIVE.match(current.title):
                current.blocks.append((block, None))  # "### Option 1" then its explanation: still Option 1
                continue
            title = found[-1][0].capitalize() if found else clean_inline(block.text).rstrip(":")
            current = _Unit(title if found or block.text.strip().endswith(":") else "", block.line, "label")
            if not current.title:
                current.blocks.append((block, None))  # a prose paragraph, not a label: keep its inline commands
            units.append(current)
            if found and found[-1][1].strip():
                # "**Fix**: `kubectl rollout undo …`" carries its content on the label line.
                current.blocks.append((replace(block, text=found[-1][1], line=found[-1][2]), None))
            continue
        if current is None:
            current = _Unit("", block.line, "label")
            units.append(current)
        current.blocks.append((block, None))
    return units


_ALTERNATIVE = re.compile(
    r"^((?:option|scenario|alternative|approach|method|resolution|case|cause|fix)(?:\s+#?|#|(?=\d))[a-z0-9]{1,3})\b"
    r"(?:\s*[:.)\-–—]|$)",
    re.IGNORECASE,
)
"""``Option 2:``, ``Scenario B``, ``Fix #1``, ``Resolution 3 - …``; not ``Optional:`` or ``Fixes:``."""


def _alternatives(units: list[_Unit]) -> list[_Unit]:
    """Consecutive "Option 1" / "Option 2" (Scenario A/B, Resolution 1..N) blocks are branches of one step."""
    merged: list[_Unit] = []
    index = 0
    while index < len(units):
        run: list[_Unit] = []
        while index < len(units) and units[index].kind == "label":
            if _ALTERNATIVE.match(units[index].title):
                run.append(units[index])
            elif not (run and _SHOWN_NOT_RUN.search(units[index].title)):
                break  # "Expected output:" inside an option belongs to it and runs nothing
            index += 1
        if len(run) < 2:
            merged.extend(run or [units[index]])
            index += 0 if run else 1
            continue
        parent = merged[-1] if merged and merged[-1].kind == "label" and not merged[-1].blocks else None
        if parent is not None:
            merged.pop()  # "## Mitigation" then "### Option 1/2/3": the step is the Mitigation
        step = _Unit(parent.title if parent else "Alternatives", parent.line if parent else run[0].line, "branches")
        for unit in run:
            match = _ALTERNATIVE.match(unit.title)
            label = match.group(1).strip().capitalize() if match else unit.title
            step.blocks.extend((block, label) for block, _ in unit.blocks)
        merged.append(step)
    return merged


def _is_label(block: Block) -> bool:
    text = block.text.strip()
    return bool(labels(block)) or (text.endswith(":") and len(text) < 80 and "\n" not in text)


def _unit_steps(unit: _Unit) -> list[Step]:
    if unit.kind == "script":
        return _comment_steps(unit.blocks[0][0])
    if unit.kind == "item":
        return _item_step(unit)
    if unit.kind == "branches":
        return _branch_step(unit)
    return _label_step(unit)


def _branch_step(unit: _Unit) -> list[Step]:
    """One step whose commands each belong to the alternative ("Option 2") they are written under."""
    commands: list[Command] = []
    for branch in dict.fromkeys(name for _, name in unit.blocks if name):
        blocks = [block for block, name in unit.blocks if name == branch]
        found = [replace(c, branch=_join_branch(branch, c.branch)) for c in _fence_commands(blocks)]
        found += [replace(c, branch=branch) for c in _inline_commands(blocks)]
        if not found:
            prose = "; ".join(clean_inline(b.text) for b in blocks if b.kind == "paragraph") or branch
            found = [prose_command(f"{branch}: {prose}", blocks[0].line if blocks else unit.line, branch)]
        commands.extend(sorted(found, key=lambda c: c.line))
    prose = "\n".join(sorted({name for _, name in unit.blocks if name}))
    return [Step(1, unit.title, prose, unit.line, tuple(commands))] if commands else []


def _item_step(unit: _Unit) -> list[Step]:
    group = [block for block, _ in unit.blocks]
    paragraphs = [clean_inline(b.text) for b in group if b.kind == "paragraph"]
    title = unit.title or (paragraphs[0].rstrip(":") if paragraphs else "Step")
    prose = "\n".join(paragraphs[1:])
    commands = [c for block in group for c in (_fence_commands([block]) or _inline_commands([block]))]
    if not commands:
        notes = [t.strip().lstrip("#").strip() for b in group if b.kind == "fence" for t in _shell_notes(b)]
        detail = "; ".join(n for n in [prose, *notes] if n)
        commands = _inline_commands(group) or [prose_command(_prose_action(title, detail), unit.line)]
    return [Step(unit.number or 1, title, prose, unit.line, tuple(commands))]


def _shell_notes(block: Block) -> list[str]:
    """The lines of a code block that gave no commands (``# View metrics in Grafana``, a YAML snippet)."""
    return block.text.splitlines()


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


_SHOWN_NOT_RUN = re.compile(
    r"^(?:symptoms?|expected|(?:example |sample |expected )?output|example|sample|impact|causes?|alerts?|triggers?|"
    r"logs? (?:show|look)|you(?:'ll| will) see)\b",
    re.IGNORECASE,
)
"""Labels whose code blocks show what one sees, not what one runs."""


def _label_step(unit: _Unit) -> list[Step]:
    label = unit.title
    if _SHOWN_NOT_RUN.search(label):
        return []
    group = _with_branches(unit)
    bullets = [block for block, _ in group if block.kind == "paragraph"]
    commands: list[Command] = []
    for block, branch in group:
        found = _fence_commands([block]) if block.kind == "fence" else _inline_commands([block])
        commands.extend(replace(c, branch=_join_branch(branch, c.branch)) if branch else c for c in found)
    branches = {branch for _, branch in group if branch}
    for branch in sorted(branches - {(c.branch or "").split(" / ")[0] for c in commands}):
        # An alternative written in words only ("**Redis down**: restart Redis") is a manual branch.
        block = next(b for b, name in group if name == branch and b.kind == "paragraph")
        commands.append(prose_command(clean_inline(block.text), block.line, branch))
    commands.sort(key=lambda c: c.line)
    if not commands or (_NOT_STEPS.search(label) and all(c.effect is Effect.MANUAL for c in commands)):
        actionable = [b for b in bullets if b.items]
        if not actionable or not label or not _ACTION_LABELS.search(label) or _NOT_STEPS.search(label):
            return []
        prose = "\n".join(clean_inline(b.text) for b in actionable)
        commands = [prose_command(prose, actionable[0].line)]
        return [Step(1, label, prose, unit.line, tuple(commands))]
    prose = "\n".join(clean_inline(b.text) for b in bullets)
    first = group[0][0] if group else None
    # A label followed straight by its code block: the step starts where the commands do.
    line = first.line if first is not None and first.kind == "fence" and not bullets else unit.line
    return [Step(1, label, prose, line, tuple(commands))]


def _with_branches(unit: _Unit) -> list[tuple[Block, str | None]]:
    """Label each bullet ``**Pool exhausted**: …`` of a remedy block (and what is nested in it) as a branch."""
    if not _REMEDY_LABELS.search(unit.title):
        return unit.blocks
    heads: dict[int, str] = {}
    for block, _ in unit.blocks:
        if block.kind == "paragraph" and block.items and not block.items[0].ordered and len(block.items) == 1:
            match = _BRANCH_BULLET.match(block.text) or _IF_BULLET.match(block.text)
            if match is not None and block.items[0].line not in heads:
                heads[block.items[0].line] = clean_inline(match.group(1)).rstrip(":").strip()
    if len(heads) < 2:
        return unit.blocks
    return [(block, heads.get(block.items[0].line) if block.items else None) for block, _ in unit.blocks]


def _join_branch(outer: str | None, inner: str | None) -> str | None:
    if outer and inner:
        return f"{outer} / {inner}"
    return outer or inner


def _fence_commands(blocks: list[Block]) -> list[Command]:
    commands: list[Command] = []
    for block in blocks:
        if block.kind == "fence":
            commands.extend(commands_from_code(block.text, normalise_language(block.info), block.line))
    return commands


def _inline_commands(blocks: list[Block]) -> list[Command]:
    commands: list[Command] = []
    for block in blocks:
        if block.kind not in ("paragraph", "row") or "`" not in block.text:
            continue
        for match in _INLINE_CODE.finditer(block.text):
            code = match.group(2).strip()
            if _NOUN_BEFORE.search(block.text, 0, match.start()):
                continue  # "A `helm upgrade` of the release left it failed": a noun, not an instruction
            if reads_as_command(code):
                line = block.line + block.text.count("\n", 0, match.start())
                commands.extend(commands_from_code(code, "", line))
    return commands


def _prose_action(title: str, prose: str) -> str:
    return f"{title}: {prose}" if prose else title
