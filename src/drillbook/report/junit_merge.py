"""Merge the JUnit XML files of a sharded game day into one file a CI server reads as one result."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from drillbook.errors import ReportError

_COUNTS = ("tests", "failures", "errors", "skipped")


def _suites(path: Path) -> list[ET.Element]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ReportError(f"cannot read the JUnit file {path}: {exc}; was the shard's run cut off?") from exc
    return [root] if root.tag == "testsuite" else list(root.iter("testsuite"))


def merge_junit(files: Sequence[Path], out: Path) -> int:
    """Write ``out`` holding every test suite of ``files``; return how many test cases it holds.

    Raises:
        ReportError: a file cannot be read or ``out`` cannot be written.
    """
    merged = ET.Element("testsuites", name="drillbook game day")
    totals = dict.fromkeys(_COUNTS, 0)
    elapsed = 0.0
    for path in files:
        for suite in _suites(path):
            merged.append(suite)
            for name in _COUNTS:
                totals[name] += int(suite.get(name, "0") or 0)
            elapsed += float(suite.get("time", "0") or 0)
    for name, value in totals.items():
        merged.set(name, str(value))
    merged.set("time", f"{elapsed:.3f}")
    try:
        ET.ElementTree(merged).write(out, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise ReportError(f"cannot write {out}: {exc.strerror}") from exc
    return totals["tests"]
