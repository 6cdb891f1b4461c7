"""Reap what a killed docker-platform run left: its labelled containers and its temp dirs, from ``docker-sandbox.json``.

Each docker sandbox records its run label (before any container starts), its container ids and its temp dirs in
``RUN_DIR/sandboxes/*/docker-sandbox.json``. Reaping removes the containers by label (so one that started after the last
record was written is found too) and the temp dirs, and reports each removal truthfully; it is safe to run twice.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

RECORD = "docker-sandbox.json"
"""The docker sandbox's own record beside the local one (sandbox.json, platform/local/record.py)."""
"""In a docker sandbox's evidence directory: its containers' run label and ids, its temp dirs."""


def reap_docker_sandboxes(run_dir: Path, say: Callable[[str], None]) -> int:
    """Remove the containers and temp dirs the run's docker sandboxes recorded; return how many could not be."""
    failures = 0
    for record_path in sorted((run_dir / "sandboxes").glob(f"*/{RECORD}")):
        name = record_path.parent.name
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            label = str(record["run_label"])
            temp_dirs = [Path(p) for p in record.get("temp_dirs", [])]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            failures += 1
            say(f"{name}: could not read {record_path}: {exc}")
            continue
        try:
            from drillbook.platform.docker.datastores import remove_run_containers

            removed = remove_run_containers(label)
        except Exception as exc:  # the engine may be gone or unreachable: say so, never claim a removal
            failures += 1
            say(f"{name}: could not remove the containers labelled {label}: {type(exc).__name__}: {exc}")
        else:
            if removed:
                ids = ", ".join(r[:12] for r in removed)
                say(f"{name}: removed {len(removed)} container(s) labelled {label}: {ids}")
        for temp in temp_dirs:
            if temp.exists():
                shutil.rmtree(temp, ignore_errors=True)
                if temp.exists():
                    failures += 1
                    say(f"{name}: could not remove {temp}")
                else:
                    say(f"{name}: removed {temp}")
    return failures
