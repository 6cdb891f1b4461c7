"""Access following ready endpoints, on a real localkube: the harness's address keeps answering when the app's pod
is deleted and the Deployment replaces it; the new pod serves it (no ``port-forward svc/…`` pinned to the old one)."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from drillbook.platform.endpoint_access import EndpointAccess
from drillbook.platform.local.sandbox import provision_local

pytestmark = pytest.mark.live

ZEPHYR = Path(__file__).resolve().parents[3] / "scenarios" / "zephyr-voting"


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except OSError:
        return 0


def _answers_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _get(url) == 200:
            return True
        time.sleep(0.3)
    return False


def test_access_follows_the_apps_pod_when_it_is_replaced(tmp_path: Path) -> None:
    sandbox = provision_local(ZEPHYR, tmp_path)
    access = EndpointAccess(sandbox.kube_env, sandbox.api_client)
    try:
        host, port = access.address("default", "zephyr-backend", 3000)
        url = f"http://{host}:{port}/"
        assert _answers_within(url, 60), f"no answer through {url}"
        (first,) = access.forwards.pods()
        sandbox.kubectl("delete", "pod", first, "--wait=false")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if _get(url) == 200 and [p for p in access.forwards.pods() if p != first]:
                break
            time.sleep(0.5)
        else:
            pods = sandbox.kubectl("get", "pods", "-o", "wide")
            pytest.fail(
                f"the access did not follow the replaced pod {first}: forwards {access.forwards.pods()}\n{pods}"
            )
        assert first not in sandbox.kubectl("get", "pods", "-o", "name").split("pod/")
    finally:
        access.close()
        sandbox.close()
    leftover = subprocess.run(["pgrep", "-f", f"port-forward.*{first}"], capture_output=True, text=True, check=False)
    assert leftover.stdout.strip() == ""
