"""Merge the journals of a sharded game day into one, so one report covers the whole fleet.

Each shard is a complete run (``run_started`` … ``run_finished``). The merged journal keeps the first shard's
``run_started`` under a new run id, every event in between from every shard in shard order, a note per shard, and
one ``run_finished``. Drill ids are made unique by appending ``@<shard run id>`` when two shards used the same id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from drillbook.errors import ReportError
from drillbook.journal.events import DrillEvent, Event, Note, NoteLevel, RunFinished, RunStarted
from drillbook.journal.reader import Journal


class MergeError(ReportError):
    """The journals cannot be merged: say which one and why."""

    exit_code = 2


def _drill_ids(journal: Journal) -> set[str]:
    return {e.drill for e in journal.events if isinstance(e, DrillEvent)}


def _renamed(event: Event, suffix: str) -> Event:
    drill = getattr(event, "drill", None)
    if not suffix or drill is None:
        return event
    renamed: Event = dataclasses.replace(event, drill=f"{drill}@{suffix}")  # type: ignore[arg-type]
    return renamed


def merge_journals(journals: Sequence[Journal], run_id: str) -> list[Event]:
    """The events of one run that holds every shard's drills.

    Raises:
        MergeError: no journals, or a journal without ``run_started`` (not a drillbook run).
    """
    if not journals:
        raise MergeError("expected at least one shard's run directory to merge, got none")
    starts: list[RunStarted] = []
    for journal in journals:
        start = next((e for e in journal.events if isinstance(e, RunStarted)), None)
        if start is None:
            raise MergeError(f"{journal.path} has no run_started event; is it a drillbook journal?")
        starts.append(start)
    platforms = {s.platform for s in starts}
    if len(platforms) > 1:
        names = ", ".join(sorted(p.value for p in platforms))
        raise MergeError(f"the shards ran on different platforms ({names}); merge shards of one game day only")
    first = starts[0]
    merged: list[Event] = [dataclasses.replace(first, run_id=run_id, argv=["drillbook", "report", "--merge"])]
    seen: set[str] = set()
    last_ts = first.ts
    for journal, start in zip(journals, starts, strict=True):
        ids = _drill_ids(journal)
        suffix = start.run_id if ids & seen else ""
        seen |= {f"{i}@{suffix}" if suffix else i for i in ids}
        merged.append(
            Note(ts=start.ts, message=f"merged shard run {start.run_id} ({len(ids)} drills) from {journal.path}")
        )
        for event in journal.events:
            if isinstance(event, RunStarted | RunFinished):
                continue
            merged.append(_renamed(event, suffix))
            last_ts = max(last_ts, event.ts)
        merged.extend(Note(ts=last_ts, message=w, level=NoteLevel.WARNING) for w in journal.warnings)
    merged.append(RunFinished(ts=last_ts))
    return merged
