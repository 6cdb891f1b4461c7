"""What a local sandbox leaves in its run directory so ``drillbook cleanup`` can find it after a kill, and prove
that a cluster it finds later is still that one (not another run's on the same port).

``sandbox.json``: the runner's pid, the state dir (``/tmp/drillbook-<system>-…``, ~80 MB), the kubeconfig,
the API server URL, and the UID of its ``kube-system`` namespace: a random UUID each cluster draws when it
starts, so another cluster later on the same port (another run's) is told apart by it.

(A per-cluster bearer token would not do: kubectl and client-go send no bearer token to a plain-http server,
which localkube is, so the token could never be required of them.)
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

FILE = "sandbox.json"
STATE_PREFIX = "drillbook-"


@dataclass(frozen=True)
class SandboxRecord:
    """The identity of one local sandbox, as recorded when it came up."""

    pid: int
    state_dir: str
    kubeconfig: str
    server: str
    cluster_uid: str

    def write(self, evidence_dir: Path) -> None:
        """Write ``sandbox.json`` (atomically)."""
        tmp = evidence_dir / (FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(evidence_dir / FILE)

    def owns_state_dir(self) -> bool:
        """The recorded state dir is one drillbook makes (a direct child of the temp dir, ``drillbook-…``)."""
        path = Path(self.state_dir)
        return path.parent == Path(tempfile.gettempdir()) and path.name.startswith(STATE_PREFIX)


def cluster_uid(server: str, token: str | None = None, timeout_s: float = 3.0) -> str:
    """The UID of the cluster's ``kube-system`` namespace: a cluster's identity, as Kubernetes tools use it.

    Raises:
        PermissionError: the server refused the token (it is another cluster).
        ConnectionError: nothing answers at ``server`` (the cluster is gone).
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"{server}/api/v1/namespaces/kube-system", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return str(json.loads(response.read())["metadata"]["uid"])
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise PermissionError(f"{server} refused the run's credentials (HTTP {exc.code})") from exc
        raise ConnectionError(f"{server} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise ConnectionError(f"nothing answers at {server} ({exc})") from exc


def record(evidence_dir: Path, *, state_dir: Path, kubeconfig: Path, server: str) -> SandboxRecord:
    """Record a sandbox that just came up (its cluster answers)."""
    entry = SandboxRecord(
        pid=os.getpid(),
        state_dir=str(state_dir),
        kubeconfig=str(kubeconfig),
        server=server,
        cluster_uid=cluster_uid(server),
    )
    entry.write(evidence_dir)
    return entry


def read_records(run_dir: Path) -> list[tuple[Path, SandboxRecord | str]]:
    """Every sandbox record of a run: the record, or why it could not be read."""
    found: list[tuple[Path, SandboxRecord | str]] = []
    for path in sorted((run_dir / "sandboxes").glob(f"*/{FILE}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found.append((path, SandboxRecord(**data)))
        except (OSError, ValueError, TypeError) as exc:
            found.append((path, f"unreadable sandbox record: {exc}"))
    return found
