"""The report opens in headless Chromium from file://: it draws, its SVG is in the DOM, nothing errors."""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import subprocess
from pathlib import Path

import pytest

from drillbook.report import render_reports

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--enable-logging=stderr",
    "--v=0",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium is not installed at /usr/bin/chromium"),
]


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Chromium in its own process group and kill the whole group afterwards, also on timeout."""
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("Chromium did not finish within 60 s")
    finally:
        # The group may already be gone with all its children: then there is nothing to reap.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Uncaught" in line or ":CONSOLE" in line]


def test_report_screenshot_is_a_real_picture(game_day_dir: Path, tmp_path: Path) -> None:
    page = render_reports(game_day_dir).html
    shot = tmp_path / "report.png"
    result = run_chromium(tmp_path, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri())
    assert shot.is_file(), f"no screenshot; Chromium said:\n{result.stderr[-2000:]}"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 1600)
    # A blank page compresses to a few kB; text, tables and charts do not.
    assert len(data) > 30_000
    assert console_errors(result.stderr) == []


def test_report_dom_holds_the_charts_and_rows(game_day_dir: Path, tmp_path: Path) -> None:
    page = render_reports(game_day_dir).html
    result = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    dom = result.stdout
    assert dom.count("<svg") == 7, result.stderr[-2000:]
    assert dom.count('class="drill-row"') == 7
    assert 'class="threshold"' in dom
    assert console_errors(result.stderr) == []
