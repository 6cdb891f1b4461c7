"""Strict decoding of a scenario's YAML files, keeping every value's source line.

A file is composed into nodes (``yaml.compose``), never loaded into plain dicts, so each error can name the line
it is about. Decoders collect :class:`Problem` s rather than stopping at the first one, so ``drillbook check``
shows everything wrong in one pass; :meth:`YamlFile.raise_problems` turns them into one :class:`ScenarioError`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from drillbook.errors import ScenarioError


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario file, with where it is."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"


def line_of(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


@dataclass
class YamlFile:
    """One YAML file being decoded: its root node and the problems found so far."""

    path: Path
    root: yaml.Node | None = None
    problems: list[Problem] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> YamlFile:
        """Compose ``path``; an unreadable file or bad YAML is recorded as a problem (``root`` stays None)."""
        found = cls(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            found.problems.append(Problem(path, None, f"cannot read the file: {exc.strerror}"))
            return found
        except UnicodeDecodeError as exc:
            found.problems.append(Problem(path, None, f"not UTF-8 text ({exc.reason}); save the file as UTF-8"))
            return found
        try:
            # libyaml's parser when PyYAML has it: the stand-in reads its profile at every (re)start.
            found.root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = None if mark is None else int(mark.line) + 1
            problem = getattr(exc, "problem", None) or str(exc)
            found.problems.append(Problem(path, line, f"not valid YAML: {problem}"))
        return found

    def error(self, node: yaml.Node | None, message: str) -> None:
        """Record a problem at ``node`` (the top of the file when None)."""
        self.problems.append(Problem(self.path, line_of(node) if node is not None else 1, message))

    def in_order(self) -> list[Problem]:
        """The problems by line, as an editor walks the file."""
        return sorted(self.problems, key=lambda p: p.line or 0)

    def raise_problems(self) -> None:
        """Raise one :class:`ScenarioError` located at the first problem and listing all of them."""
        if not self.problems:
            return
        first, *others = self.in_order()
        rest = "".join(f"\n  {p}" for p in others)
        raise ScenarioError(first.message + rest, path=first.path, line=first.line)

    # -- decoders: each records a problem and returns None (or a default) on a bad value ------------------

    def mapping(
        self, node: yaml.Node | None, what: str, allowed: Collection[str], required: Collection[str] = ()
    ) -> dict[str, yaml.Node]:
        """A mapping's keys → value nodes; unknown keys and missing required keys are problems."""
        if node is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping with keys {', '.join(sorted(allowed))}")
            return {}
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key not in allowed:
                self.error(key_node, f"unknown key {key!r} in {what}; allowed keys: {', '.join(sorted(allowed))}")
                continue
            if key in out:
                self.error(key_node, f"key {key!r} appears twice in {what}; keep one")
            out[key] = value_node
        missing = [k for k in required if k not in out]
        if missing:
            self.error(node, f"{what} is missing required key{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        return out

    def entries(self, node: yaml.Node | None, what: str) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        """(key node, value node) pairs of a mapping whose keys are names chosen by the user."""
        if node is None:
            return
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping")
            return
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if str(key_node.value) in seen:
                self.error(key_node, f"{key_node.value!r} appears twice in {what}; keep one")
            seen.add(str(key_node.value))
            yield key_node, value_node

    def items(self, node: yaml.Node | None, what: str) -> list[yaml.Node]:
        """The item nodes of a list."""
        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{what} must be a list")
            return []
        return list(node.value)

    def plain(self, node: yaml.Node) -> Any:
        """The node as plain Python data (for free-form values such as a JSON body)."""
        return yaml.safe_load(yaml.serialize(node))

    def string(self, node: yaml.Node | None, what: str) -> str | None:
        """A non-empty string (numbers are not taken for strings)."""
        if node is None:
            return None
        value = self.plain(node) if isinstance(node, yaml.ScalarNode) else node
        if not isinstance(value, str) or not value.strip():
            self.error(node, f"{what} must be a non-empty string, got {_show(node)}")
            return None
        return value

    def integer(self, node: yaml.Node | None, what: str, *, minimum: int | None = None) -> int | None:
        """An integer, at least ``minimum`` when given."""
        if node is None:
            return None
        value = self.plain(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(node, f"{what} must be an integer, got {_show(node)}")
            return None
        if minimum is not None and value < minimum:
            self.error(node, f"{what} must be at least {minimum}, got {value}")
            return None
        return value

    def number(self, node: yaml.Node | None, what: str, *, minimum: float | None = None) -> float | None:
        """A number (integer or decimal), at least ``minimum`` when given."""
        if node is None:
            return None
        value = self.plain(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.error(node, f"{what} must be a number, got {_show(node)}")
            return None
        if minimum is not None and value < minimum:
            self.error(node, f"{what} must be at least {minimum:g}, got {value:g}")
            return None
        return float(value)

    def boolean(self, node: yaml.Node | None, what: str) -> bool | None:
        """``true`` or ``false``."""
        if node is None:
            return None
        value = self.plain(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            self.error(node, f"{what} must be true or false, got {_show(node)}")
            return None
        return value

    def strings(self, node: yaml.Node | None, what: str) -> tuple[str, ...]:
        """A list of non-empty strings."""
        found = (self.string(item, f"each entry of {what}") for item in self.items(node, what))
        return tuple(s for s in found if s is not None)

    def choice(self, node: yaml.Node | None, what: str, choices: Collection[str]) -> str | None:
        """One of ``choices``."""
        value = self.string(node, what)
        if value is not None and value not in choices:
            self.error(node, f"{what} must be one of {', '.join(choices)}, got {value!r}")
            return None
        return value


def _show(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return repr(yaml.safe_load(yaml.serialize(node)))
