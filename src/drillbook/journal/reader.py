"""Read a journal back into typed events, surviving what a killed or newer run leaves behind."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

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


def load_journal(path: Path | str) -> Journal:
    """Read a journal, keeping the warnings so a report can show them.

    A cut-off or invalid *last* line is skipped (a killed run), as are events of unknown types (a newer
    drillbook). Anything invalid before the last line means the file is corrupt.

    Raises:
        JournalError: the file is missing, unreadable, or corrupt before its last line.
    """
    journal = Journal(Path(path))
    try:
        text = journal.path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError as exc:
        raise JournalError(
            f"expected a journal at {journal.path}, found nothing; pass a run directory written by a drill run"
        ) from exc
    except OSError as exc:
        raise JournalError(f"cannot read the journal {journal.path}: {exc.strerror}") from exc
    lines = text.split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        where = f"{journal.path}:{index + 1}"
        try:
            event = decode(line)
        except UnknownEventType as exc:
            journal.warnings.append(f"{where}: skipped: {exc} (written by a newer drillbook?)")
            continue
        except EventDecodeError as exc:
            if index == last:
                journal.truncated = True
                journal.warnings.append(
                    f"{where}: last line is incomplete and was skipped ({exc}); the run was cut off"
                )
                continue
            raise JournalError(
                f"{where}: expected one journal event per line, found a corrupt line: {exc}; "
                "the journal was edited or damaged, restore it or delete that line"
            ) from exc
        if isinstance(event, RunStarted) and event.schema_version > SCHEMA_VERSION:
            journal.warnings.append(
                f"{where}: journal schema {event.schema_version} is newer than this drillbook's "
                f"({SCHEMA_VERSION}); upgrade drillbook for a complete report"
            )
        journal.events.append(event)
    for warning in journal.warnings:
        log.warning("%s", warning)
    return journal


def read_journal(path: Path | str) -> list[Event]:
    """Read a journal's events (see :func:`load_journal` for what is tolerated)."""
    return load_journal(path).events
