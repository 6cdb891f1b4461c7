"""A sharded game day merges back into one run: the same drills, verdicts and counts as running it whole."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from report_journals import write_game_day

from drillbook.cli import main
from drillbook.journal import DrillEvent, JournalWriter, Note, RunFinished, RunStarted, read_journal
from drillbook.report.render import load_run

SHARDS = 3


def _split(whole: Path, root: Path) -> list[Path]:
    """Deal the drills of one journal over three shard run directories, as three CI runners would write them."""
    events = read_journal(whole / "journal.jsonl")
    start = next(e for e in events if isinstance(e, RunStarted))
    drills = list(dict.fromkeys(e.drill for e in events if isinstance(e, DrillEvent)))
    dirs = []
    for index in range(SHARDS):
        mine = set(drills[index::SHARDS])
        shard_dir = root / f"shard{index + 1}"
        with JournalWriter(shard_dir / "journal.jsonl", durable=False) as writer:
            writer.write(dataclasses.replace(start, run_id=f"shard{index + 1}"))
            for event in events:
                drill = getattr(event, "drill", None)
                if drill in mine:
                    writer.write(event)
            writer.write(RunFinished(ts=events[-1].ts))
        (shard_dir / "junit.xml").write_text(
            f'<testsuites><testsuite name="pytest" tests="{len(mine)}" failures="1" errors="0" skipped="0" '
            f'time="1.5"><testcase classname="features" name="drill{index}"/></testsuite></testsuites>'
        )
        dirs.append(shard_dir)
    return dirs


def _verdicts(run_dir: Path) -> dict[str, str | None]:
    run = load_run(run_dir)
    return {d.drill: d.verdict.verdict.value if d.verdict else None for d in run.drills}


def test_three_merged_shards_give_the_same_verdicts_and_counts_as_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = tmp_path / "reports" / "whole"
    write_game_day(whole / "journal.jsonl")
    shards = _split(whole, tmp_path / "reports")
    merged = tmp_path / "reports" / "merged"

    assert main(["report", "--merge", *map(str, shards), "--out", str(merged)]) == 0

    assert _verdicts(merged) == _verdicts(whole)
    assert Counter(_verdicts(merged).values()) == Counter(_verdicts(whole).values())
    assert len(_verdicts(whole)) >= SHARDS
    junit = ET.parse(merged / "junit.xml").getroot()
    assert len(junit.findall("testsuite")) == SHARDS
    assert junit.get("tests") == str(len(_verdicts(whole)))
    assert junit.get("failures") == str(SHARDS)
    assert (merged / "index.html").is_file()
    assert (merged / "summary.md").is_file()
    out = capsys.readouterr().out
    assert f"merged:   {SHARDS} shards" in out


def test_drills_that_two_shards_both_ran_stay_apart(tmp_path: Path) -> None:
    whole = tmp_path / "reports" / "whole"
    write_game_day(whole / "journal.jsonl")
    twice = [whole, whole]

    assert main(["report", "--merge", *map(str, twice), "--out", str(tmp_path / "reports" / "m")]) == 0

    events = read_journal(tmp_path / "reports" / "m" / "journal.jsonl")
    assert sum(isinstance(e, RunStarted) for e in events) == 1
    assert sum(isinstance(e, RunFinished) for e in events) == 1
    assert len(_verdicts(tmp_path / "reports" / "m")) == 2 * len(_verdicts(whole))
    assert any(isinstance(e, Note) and "merged shard run" in e.message for e in events)


def test_merging_a_folder_without_a_journal_says_what_to_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()

    assert main(["report", "--merge", str(tmp_path / "empty")]) == 2

    assert "expected journal.jsonl in" in capsys.readouterr().err


def test_merge_refuses_to_overwrite_an_existing_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    whole = tmp_path / "reports" / "whole"
    write_game_day(whole / "journal.jsonl")

    assert main(["report", "--merge", str(whole), "--out", str(whole)]) == 2

    assert "already holds a journal" in capsys.readouterr().err
