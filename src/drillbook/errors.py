"""One exception hierarchy for drillbook, classified by what the user should do next.

Every message says what was expected, what was seen and what to do. Modules may subclass these
in their own files; the CLI turns any ``DrillbookError`` into a clean message and an exit code.
"""

from __future__ import annotations

from pathlib import Path


class DrillbookError(Exception):
    """Base of every error drillbook raises on purpose."""

    #: Exit code the CLI uses for this kind of error.
    exit_code: int = 1


class UsageError(DrillbookError):
    """The command line or a configuration value is wrong: fix the invocation."""

    exit_code = 2


class SourceError(DrillbookError):
    """A problem located in a user's file: the message names the file and line."""

    exit_code = 2

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.detail = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        elif self.line is not None:
            where = f"line {self.line}: "
        return f"{where}{self.detail}"


class RunbookParseError(SourceError):
    """A runbook could not be read into the model: the message names file and line."""


class ScenarioError(SourceError):
    """A scenario (manifests, image map, bindings, drill) is malformed or refers to something unknown."""


class SandboxError(DrillbookError):
    """The throwaway environment could not be provisioned or broke: an *error*, not a verdict."""


class ClusterError(SandboxError):
    """The cluster (localkube, kind, k3s, existing) misbehaved or is unreachable."""


class DatastoreError(SandboxError):
    """A datastore (PostgreSQL, Redis) could not be started, reached or stopped."""


class FaultInjectionError(DrillbookError):
    """A fault could not be injected or reverted."""


class FaultNotOnPlatform(FaultInjectionError):
    """This platform cannot apply the fault as the drill asks (raised by a fault's ``revert_record``, before
    anything is applied): a limit of the sandbox, never the runbook's failure. The drill is *inconclusive*."""


class TrafficError(DrillbookError):
    """The traffic generator failed to start or stopped reporting."""


class PolicyBlocked(DrillbookError):
    """The executor's policy refused to run a command (it would leave the sandbox or destroy data)."""


class VacuousDrill(DrillbookError):
    """The fault never breached the SLOs: the drill proves nothing."""


class ReportError(DrillbookError):
    """A report could not be rendered (unreadable journal, unwritable directory)."""
