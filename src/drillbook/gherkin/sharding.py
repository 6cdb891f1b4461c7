"""``--drillbook-shard i/n`` (ini ``drillbook_shard``): run a stable slice of the drills, so a CI matrix spreads a
fleet over runners.

Drills are ordered by their pytest node id and dealt round-robin: shard ``i`` of ``n`` keeps every ``n``-th drill
starting at the ``i``-th. The same features always give the same slices, every drill lands in exactly one shard,
and shard sizes differ by at most one. Merge the shards' run directories with ``drillbook report --merge``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from drillbook.errors import UsageError
from drillbook.gherkin.options import setting

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def keeps(self, position: int) -> bool:
        """Whether the drill at ``position`` (0-based, in node-id order) belongs to this shard."""
        return position % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """Read ``"2/3"``; raise :class:`UsageError` saying what a shard looks like."""
    found = _SHARD.match(text)
    if found is None:
        raise UsageError(f"expected a shard as I/N (for example 2/3), got {text!r}")
    index, count = int(found[1]), int(found[2])
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"shard {text!r} is out of range: I/N needs 1 <= I <= N (for example 1/{max(count, 1)})")
    return Shard(index, count)


def select(node_ids: list[str], shard: Shard) -> set[str]:
    """The node ids shard ``shard`` runs."""
    ordered = sorted(set(node_ids))
    return {node_id for position, node_id in enumerate(ordered) if shard.keeps(position)}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the drills of the other shards, after every check on the whole set has run."""
    text = setting(config, "--drillbook-shard")
    if not text:
        return
    try:
        shard = parse_shard(text)
    except UsageError as exc:
        raise pytest.UsageError(f"--drillbook-shard: {exc}") from exc
    kept = select([item.nodeid for item in items], shard)
    dropped = [item for item in items if item.nodeid not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.nodeid in kept]
