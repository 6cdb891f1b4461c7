"""Append events to a run's journal, durably, one line per event."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from drillbook.errors import ReportError
from drillbook.journal.codec import encode
from drillbook.journal.events import Event

JOURNAL_NAME = "journal.jsonl"


class JournalWriter:
    """An append-only JSONL journal; each ``write`` is flushed and fsync'd before it returns.

    Durability per event is the point: a run killed at any moment leaves a journal that says how far it
    got and which faults to revert. Safe to share between threads.

    Args:
        path: the journal file (usually ``reports/<run-id>/journal.jsonl``); parent folders are created.
        durable: fsync after every event. Only synthetic journals (benchmarks) should turn this off.
    """

    def __init__(self, path: Path | str, *, durable: bool = True) -> None:
        self.path = Path(path)
        self.durable = durable
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def open(self) -> Self:
        """Open the file for appending (``with`` does this for you)."""
        if self._file is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            except OSError as exc:
                raise ReportError(
                    f"cannot open the journal {self.path} for appending: {exc.strerror}; "
                    "check that the reports folder is writable"
                ) from exc
        return self

    def write(self, event: Event) -> None:
        """Append one event and make it durable before returning."""
        line = encode(event) + "\n"
        with self._lock:
            if self._file is None:
                self.open()
            assert self._file is not None
            try:
                self._file.write(line)
                self._file.flush()
                if self.durable:
                    os.fsync(self._file.fileno())
            except OSError as exc:
                raise ReportError(f"cannot append to the journal {self.path}: {exc.strerror}") from exc

    def close(self) -> None:
        """Close the file; writing again reopens it."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
