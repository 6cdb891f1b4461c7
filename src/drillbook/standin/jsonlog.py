"""JSON log lines on stdout, one object per line, the way the seed systems' services log.

Each line has ``level``, ``message``, ``timestamp``, ``service`` and the profile's correlation-id key, so the
runbooks' greps (``'"level":"error"'``, ``ERROR``, ``correlationId":"abc123``, ``duration``) find what they look for.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from drillbook.standin.profiles import LevelCase


class JsonLogger:
    """Writes compact JSON lines; flushes each line so ``kubectl logs -f`` sees it at once."""

    def __init__(
        self, service: str, *, level_case: LevelCase, correlation_key: str, stream: TextIO | None = None
    ) -> None:
        self._service = service
        self._upper = level_case == "upper"
        self.correlation_key = correlation_key
        self._stream = stream if stream is not None else sys.stdout

    def log(self, level: str, message: str, *, correlation_id: str | None = None, **fields: Any) -> None:
        """Write one line. ``fields`` are added as-is (must be JSON-serialisable)."""
        record: dict[str, Any] = {
            "level": level.upper() if self._upper else level.lower(),
            "message": message,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "service": self._service,
        }
        if correlation_id is not None:
            record[self.correlation_key] = correlation_id
        record.update(fields)
        try:
            self._stream.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            # The reader went away (pipe closed or stream closed at shutdown): logging must never crash a request.
            pass

    def info(self, message: str, **fields: Any) -> None:
        """Log at info level."""
        self.log("info", message, **fields)

    def warn(self, message: str, **fields: Any) -> None:
        """Log at warn level."""
        self.log("warn", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        """Log at error level."""
        self.log("error", message, **fields)

    def fatal(self, message: str, **fields: Any) -> None:
        """Log at fatal level (the process is about to exit)."""
        self.log("fatal", message, **fields)
