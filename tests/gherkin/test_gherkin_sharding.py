"""``--drillbook-shard i/n`` deals the drills into stable, disjoint slices that together are the whole game day."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from drillbook.errors import UsageError
from drillbook.gherkin.sharding import Shard, parse_shard, select

ROOT = Path(__file__).resolve().parents[2]
DRILLS = [f"features/test_gameday.py::test_drill_{n:02d}" for n in range(23)]


def test_three_shards_are_disjoint_and_cover_every_drill_once() -> None:
    slices = [select(DRILLS, Shard(i, 3)) for i in (1, 2, 3)]

    assert set().union(*slices) == set(DRILLS)
    assert sum(len(s) for s in slices) == len(DRILLS)
    assert max(len(s) for s in slices) - min(len(s) for s in slices) <= 1


def test_a_shard_is_the_same_whatever_order_the_drills_were_collected_in() -> None:
    assert select(DRILLS, Shard(2, 4)) == select(list(reversed(DRILLS)), Shard(2, 4))


def test_one_shard_of_one_is_the_whole_game_day() -> None:
    assert select(DRILLS, parse_shard("1/1")) == set(DRILLS)


@pytest.mark.parametrize(
    ("text", "message"),
    [("3", "expected a shard as I/N"), ("0/3", "out of range"), ("4/3", "out of range"), ("a/b", "I/N")],
)
def test_a_bad_shard_says_what_a_shard_looks_like(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_shard(text)


def _collected(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "features", "--co", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {line for line in done.stdout.splitlines() if "::" in line}


@pytest.mark.live
def test_the_seed_game_day_collected_in_three_shards_is_the_whole_game_day() -> None:
    whole = _collected()
    shards = [_collected(f"--drillbook-shard={i}/3") for i in (1, 2, 3)]

    assert len(whole) >= 3
    assert set().union(*shards) == whole
    assert sum(len(s) for s in shards) == len(whole)
