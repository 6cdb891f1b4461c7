"""One game-day run: its directory, its journal, and the reports written when it ends."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drillbook import __version__
from drillbook.journal import JournalWriter, Platform, RunFinished, RunStarted, ToolVersions

RUN_KEY = pytest.StashKey["RunContext"]()

PLATFORM_LABELS = {
    Platform.LOCAL: "embedded local platform (localkube + local processes): a rehearsal, not a production verification",
    Platform.DOCKER: "localkube with PostgreSQL and Redis in testcontainers containers (Docker): a rehearsal",
    Platform.KIND: "kind cluster (Kubernetes in Docker) with testcontainers datastores",
    Platform.K3S: "k3s cluster (testcontainers K3SContainer)",
    Platform.EXISTING: "an existing Kubernetes cluster (explicitly allowed context)",
}


@dataclass
class RunContext:
    """Where this run writes, created on first use so a plain ``pytest tests/`` never makes a run directory."""

    reports_root: Path
    platform: Platform
    scenarios_dir: Path
    argv: list[str] = field(default_factory=list)
    run_id: str = ""
    run_dir: Path | None = None
    journal: JournalWriter | None = None
    drills: int = 0
    active: list[Any] = field(default_factory=list)
    """Drills running now, finished from the interrupt hook when the run is stopped."""

    def open(self) -> JournalWriter:
        """The run's journal, opening the run directory and journaling ``run_started`` the first time."""
        if self.journal is not None:
            return self.journal
        self.run_id = self.run_id or time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
        self.run_dir = self.reports_root / self.run_id
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.journal = JournalWriter(self.run_dir / "journal.jsonl").open()
        self.journal.write(
            RunStarted(
                run_id=self.run_id,
                platform=self.platform,
                platform_label=PLATFORM_LABELS[self.platform],
                drillbook_version=__version__,
                git_commit=_git_commit(self.scenarios_dir),
                versions=tool_versions(),
                argv=self.argv,
            )
        )
        return self.journal

    def close(self) -> Path | None:
        """Journal ``run_finished``, close the journal, render the reports; return the run directory."""
        if self.journal is None or self.run_dir is None:
            return None
        self.journal.write(RunFinished())
        self.journal.close()
        # The run's snapshots of provisioned databases (platform/local/datastores/snapshot.py) die with the run.
        shutil.rmtree(self.run_dir / "snapshots", ignore_errors=True)
        from drillbook.report import render_reports, update_latest

        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        render_reports(self.run_dir, step_summary=Path(summary) if summary else None)
        update_latest(self.reports_root, self.run_dir)
        return self.run_dir


def _run(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (done.stdout or done.stderr).strip().splitlines()
    return out[0].strip() if out else None


def tool_versions() -> ToolVersions:
    """Versions of the tools drills run with, for the report's evidence block."""
    postgres = "/usr/lib/postgresql/15/bin/postgres"
    return ToolVersions(
        kubectl=_run(["kubectl", "version", "--client"]),
        postgresql=_run([postgres if os.path.exists(postgres) else "postgres", "--version"]),
        redis=_run(["redis-server", "--version"]),
        python=sys.version.split()[0],
    )


def _git_commit(path: Path) -> str | None:
    return _run(["git", "-C", str(path), "rev-parse", "HEAD"])
