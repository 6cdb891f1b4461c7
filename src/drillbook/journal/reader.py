"""Read a journal back into typed events, surviving what a killed or newer run leaves behind."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from drillbook.errors import ReportError
from drillbook.journal.codec import EventDecodeError, UnknownEventType, decode
from drillbook.journal.events import SCHEMA_VERSION, Event, RunStarted

log = logging.getLogger(__name__)


class JournalError(ReportError):
    """A journal could not be read: missing, unreadable, or corrupt before its last line."""

    exit_code = 2


@dataclass
class Journal:
    """The events of one journal and what was skipped while reading it."""

    path: Path
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False
    """The last line was cut off: the run was killed while writing."""


MAX_JOURNAL_BYTES = 256 * 1024 * 1024
"""The most a journal may hold: a long drill writes a few MB, so more is not a journal (or a runaway writer), and
lines are read one at a time up to this much, never the whole of a device such as /dev/zero."""


def load_journal(path: Path | str, *, limit: int = MAX_JOURNAL_BYTES) -> Journal:
    """Read a journal line by line, keeping the warnings so a report can show them.

    A cut-off or invalid *last* line is skipped (a killed run), as are events of unknown types (a newer
    drillbook). Anything invalid before the last line means the file is corrupt.

    Raises:
        JournalError: the file is missing, unreadable, larger than ``limit``, or corrupt before its last line.
    """
    journal = Journal(Path(path))
    try:
        with journal.path.open("rb") as handle:
            _read_events(journal, handle, limit)
    except FileNotFoundError as exc:
        raise JournalError(
            f"expected a journal at {journal.path}, found nothing; pass a run directory written by a drill run"
        ) from exc
    except OSError as exc:
        raise JournalError(f"cannot read the journal {journal.path}: {exc.strerror}") from exc
    for warning in journal.warnings:
        log.warning("%s", warning)
    return journal


def _read_events(journal: Journal, handle: BinaryIO, limit: int) -> None:
    undecodable: tuple[str, EventDecodeError] | None = None  # held back until we know whether it was the last line
    total = 0
    for number in itertools.count(1):
        raw = handle.readline(limit + 1 - total)
        if not raw:
            break
        total += len(raw)
        if total > limit:
            raise JournalError(
                f"{journal.path}: expected a journal of at most {limit / (1024 * 1024):g} MB, the file is larger; "
                "is this a drillbook journal? Pass the journal.jsonl a drill run wrote"
            )
        line = raw.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        if undecodable is not None:
            bad_line, error = undecodable
            raise JournalError(
                f"{bad_line}: expected one journal event per line, found a corrupt line: {error}; "
                "the journal was edited or damaged, restore it or delete that line"
            ) from error
        where = f"{journal.path}:{number}"
        try:
            event = decode(line.rstrip("\n"))
        except UnknownEventType as exc:
            journal.warnings.append(f"{where}: skipped: {exc} (written by a newer drillbook?)")
            continue
        except EventDecodeError as exc:
            undecodable = (where, exc)
            continue
        if isinstance(event, RunStarted) and event.schema_version > SCHEMA_VERSION:
            journal.warnings.append(
                f"{where}: journal schema {event.schema_version} is newer than this drillbook's "
                f"({SCHEMA_VERSION}); upgrade drillbook for a complete report"
            )
        journal.events.append(event)
    if undecodable is not None:
        bad_line, error = undecodable
        journal.truncated = True
        journal.warnings.append(f"{bad_line}: last line is incomplete and was skipped ({error}); the run was cut off")


def lines_without_an_event(path: Path | str, *, limit: int = MAX_JOURNAL_BYTES) -> list[int] | None:
    """The non-blank line numbers of a journal in which no line is a readable event; ``None`` once one is.

    Reads only up to the first event, so it is cheap on a real journal: a report checks it before rendering, so
    an empty journal (or one of only corrupt lines) is never shown as a run without drills.
    """
    lines: list[int] = []
    total = number = 0
    with Path(path).open("rb") as handle:
        while raw := handle.readline(limit + 1 - total):
            total += len(raw)
            number += 1
            if total > limit:
                return None  # too large: load_journal says so
            if not raw.strip():
                continue
            try:
                decode(raw.decode("utf-8", errors="replace").rstrip("\n"))
            except (EventDecodeError, UnknownEventType):
                lines.append(number)
                continue
            return None
    return lines


def read_journal(path: Path | str) -> list[Event]:
    """Read a journal's events (see :func:`load_journal` for what is tolerated)."""
    return load_journal(path).events
