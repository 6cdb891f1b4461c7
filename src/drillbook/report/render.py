"""Render every report format into a run directory, from its journal only."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from drillbook.errors import ReportError
from drillbook.journal import JOURNAL_NAME, load_journal
from drillbook.report.html import render_html
from drillbook.report.json_summary import render_json
from drillbook.report.markdown import render_markdown
from drillbook.report.model import RunSummary, summarize
from drillbook.report.text import render_text

LATEST = "latest"


class RunDirError(ReportError):
    """The path given is not a run directory with a journal: fix the invocation."""

    exit_code = 2


@dataclass(frozen=True)
class ReportPaths:
    """The files one rendering wrote."""

    html: Path
    json: Path
    markdown: Path
    text: Path | None = None
    """The plain-text digest for terminals (``summary.txt``)."""
    step_summary: Path | None = None
    """The CI step summary the Markdown was appended to, if any."""


def load_run(run_dir: Path | str) -> RunSummary:
    """Read a run directory's journal and fold it into a summary.

    Raises:
        ReportError: the directory or its journal is missing or unreadable.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(
            f"expected a run directory (reports/<run-id>/), but {run_dir} "
            f"{'is a file' if run_dir.exists() else 'does not exist'}; pass the folder that holds {JOURNAL_NAME}"
        )
    journal_path = run_dir / JOURNAL_NAME
    if not journal_path.is_file():
        raise RunDirError(
            f"expected {JOURNAL_NAME} in {run_dir}, found none; is this a drillbook run directory? "
            "Runs write their journal to reports/<run-id>/journal.jsonl"
        )
    return summarize(load_journal(journal_path))


def _write(path: Path, text: str) -> None:
    # Write-then-rename, so a viewer never sees half a report.
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror}; check that the run directory is writable") from exc


def render_reports(run_dir: Path | str, *, step_summary: Path | None = None) -> ReportPaths:
    """Write ``index.html``, ``summary.json``, ``summary.md`` and ``summary.txt`` into ``run_dir``.

    Args:
        run_dir: a run directory holding ``journal.jsonl``.
        step_summary: a file to append the Markdown digest to; pass ``$GITHUB_STEP_SUMMARY`` on GitHub Actions.

    Raises:
        ReportError: the journal is missing or corrupt, or a file cannot be written.
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    paths = ReportPaths(
        run_dir / "index.html", run_dir / "summary.json", run_dir / "summary.md", run_dir / "summary.txt", step_summary
    )
    markdown = render_markdown(run)
    _write(paths.html, render_html(run))
    _write(paths.json, render_json(run))
    _write(paths.markdown, markdown)
    assert paths.text is not None
    _write(paths.text, render_text(run))
    if step_summary is not None:
        try:
            with step_summary.open("a", encoding="utf-8") as summary:
                summary.write(markdown + "\n")
        except OSError as exc:
            raise ReportError(f"cannot append to the CI step summary {step_summary}: {exc.strerror}") from exc
    return paths


def update_latest(reports_root: Path | str, run_dir: Path | str) -> Path:
    """Point ``reports_root/latest`` at ``run_dir``: a relative symlink, or a text file naming it.

    The text-file fallback is for file systems without symlinks; it holds the run directory's name.

    Raises:
        ReportError: ``latest`` exists and is a real directory (not ours to replace).
    """
    root = Path(reports_root)
    run_dir = Path(run_dir)
    latest = root / LATEST
    if latest.is_dir() and not latest.is_symlink():
        raise ReportError(
            f"expected {latest} to be a symlink or a file naming the newest run, found a directory; "
            "move it away so drillbook can point it at the newest run"
        )
    target = os.path.relpath(run_dir.resolve(), root.resolve())
    tmp = root / f".{LATEST}.{os.getpid()}.tmp"
    try:
        tmp.unlink(missing_ok=True)
        try:
            tmp.symlink_to(target, target_is_directory=True)
        except OSError:
            tmp.write_text(target + "\n", encoding="utf-8")
        os.replace(tmp, latest)
    except OSError as exc:
        raise ReportError(f"cannot update {latest}: {exc.strerror}") from exc
    return latest
