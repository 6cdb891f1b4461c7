"""A scenario whose app image maps to a command that does not exist fails at provision, at once, with the cause:
the pod, the container, the runtime's words, the pod's events and its (empty) log. Not a 120 s wait that names
nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from drillbook.errors import SandboxError
from drillbook.platform.local.sandbox import provision_local, wait_for_removals

pytestmark = pytest.mark.live

SEED = Path(__file__).resolve().parents[3] / "scenarios" / "phase5-todo"
APP_IMAGE = "YOUR_REGISTRY/todo-app-backend:v1.9"


def broken_scenario(root: Path) -> Path:
    """phase5-todo with its app image mapped to a server binary that is not installed."""
    scenario = root / "phase5-todo"
    shutil.copytree(SEED, scenario)
    images = yaml.safe_load((scenario / "images.yaml").read_text(encoding="utf-8"))
    images["images"][APP_IMAGE] = {"entrypoint": ["todo-backend-server"], "cmd": ["--port", "8000"]}
    (scenario / "images.yaml").write_text(yaml.safe_dump(images), encoding="utf-8")
    return scenario


def test_an_app_image_mapped_to_a_missing_command_fails_provision_with_its_cause(tmp_path: Path) -> None:
    scenario = broken_scenario(tmp_path / "scenarios")
    started = time.monotonic()
    with pytest.raises(SandboxError) as caught:
        provision_local(scenario, tmp_path / "run")
    print(f"provision failed after {time.monotonic() - started:.1f} s (the ready timeout is 120 s)")
    message = str(caught.value)
    # Only the fail-fast path says "cannot start"; the timeout says "did not become available within".
    assert message.startswith("the phase5-todo system cannot start: pod phase-5/backend-"), message
    assert f"container backend (image {APP_IMAGE}): RunContainerError: " in message
    assert 'exec: "todo-backend-server": executable file not found in $PATH: unknown' in message
    assert "Waiting cannot fix this" in message
    assert "Events of pod phase-5/backend-" in message
    assert "Warning Failed: Error: failed to create" in message
    assert "Last log lines of container backend: (none: the container never wrote a line)" in message
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert f"Hint: check what {APP_IMAGE} maps to" in notes
    # The failed bring-up took its state dir (and with it every pod process) away.
    [record] = (tmp_path / "run" / "sandboxes").glob("*/sandbox.json")
    wait_for_removals()
    assert not Path(json.loads(record.read_text())["state_dir"]).exists()


def test_a_game_day_on_that_scenario_is_an_error_verdict_with_the_cause_not_a_failed_runbook(tmp_path: Path) -> None:
    # A project of one seed system: its steps and one feature file, its broken scenario; the game day as a user
    # runs it. drillbook's sandbox not starting is drillbook's error, never the runbook's failure.
    repo = Path(__file__).resolve().parents[3]
    shutil.copytree(repo / "steps", tmp_path / "steps")
    (tmp_path / "features").mkdir()
    for name in ("conftest.py", "test_gameday.py", "phase5_todo.feature"):
        shutil.copy(repo / "features" / name, tmp_path / "features" / name)
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n', encoding="utf-8")
    broken_scenario(tmp_path / "scenarios")
    argv = [sys.executable, "-m", "drillbook", "gameday", "features", "-k", "PodCrashLooping", "--control", "off"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    [drill] = json.loads((tmp_path / "reports" / "latest" / "summary.json").read_text(encoding="utf-8"))["drills"]
    assert drill["verdict"] == "error"
    assert drill["reason"].startswith("the sandbox failed, so nothing was proven: the phase5-todo system cannot start")
    assert 'exec: "todo-backend-server": executable file not found in $PATH' in drill["reason"]
    assert "Warning Failed: Error: failed to create containerd task" in drill["reason"]
    html = (tmp_path / "reports" / "latest" / "index.html").read_text(encoding="utf-8")
    assert "executable file not found in $PATH" in html
