"""The existing platform, on a real cluster (a localkube it is allowed to use): a scenario whose app image maps to a
missing command fails provision at once with the pod's cause, as on every platform, not after a `kubectl wait`."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from drillbook.errors import SandboxError
from drillbook.platform import existing
from drillbook.platform.local.datastores import IMAGES_FILE
from drillbook.platform.local.kube.cluster import LocalKubeProcess

pytestmark = pytest.mark.live

SEED = Path(__file__).resolve().parents[2] / "scenarios" / "phase5-todo"
APP_IMAGE = "YOUR_REGISTRY/todo-app-backend:v1.9"


@pytest.fixture
def state_dir() -> Iterator[Path]:
    state = Path(tempfile.mkdtemp(prefix="drillbook-existing-test-"))
    os.chmod(state, 0o755)  # pod processes may run as other users (PostgreSQL refuses root)
    yield state
    shutil.rmtree(state, ignore_errors=True)


def test_an_app_image_mapped_to_a_missing_command_fails_provision_on_existing_with_its_cause(
    tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenarios = tmp_path / "scenarios"
    shutil.copytree(SEED, scenarios / "phase5-todo")
    images_file = scenarios / "phase5-todo" / "images.yaml"
    images = yaml.safe_load(images_file.read_text(encoding="utf-8"))
    images["images"][APP_IMAGE] = {"entrypoint": ["todo-backend-server"], "cmd": ["--port", "8000"]}
    images_file.write_text(yaml.safe_dump(images), encoding="utf-8")
    kube = LocalKubeProcess(state_dir=state_dir / "kube", images=[IMAGES_FILE, images_file], time_factor=0.2)
    monkeypatch.setenv("KUBECACHEDIR", str(state_dir / "kubectl-cache"))  # never the user's ~/.kube/cache
    kube.start()
    try:
        context = str(yaml.safe_load(kube.kubeconfig.read_text(encoding="utf-8"))["current-context"])
        environ = {"KUBECONFIG": str(kube.kubeconfig), "DRILLBOOK_ALLOW_CONTEXTS": context}
        provision = existing.provider(scenarios, tmp_path / "run", environ)
        started = time.monotonic()
        with pytest.raises(SandboxError) as caught:
            provision("phase5-todo")
        print(f"provision failed after {time.monotonic() - started:.1f} s (the ready timeout is 300 s)")
    finally:
        kube.stop()
    message = str(caught.value)
    # Only the fail-fast path says "cannot start"; `kubectl wait` said "timed out waiting for the condition".
    assert message.startswith("the phase5-todo system cannot start: pod phase-5/backend-"), message
    assert f"container backend (image {APP_IMAGE}): RunContainerError: " in message
    assert 'exec: "todo-backend-server": executable file not found in $PATH: unknown' in message
    assert "Events of pod phase-5/backend-" in message
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert f"Hint: check what {APP_IMAGE} maps to" in notes
