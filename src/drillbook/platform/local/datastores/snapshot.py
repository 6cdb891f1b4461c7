"""Per-run snapshots of a system's provisioned PostgreSQL, so a drill's database starts seeded instead of seeding.

The first drill of a system in a run provisions it the ordinary way: the PostgreSQL pod starts from the empty
template, the application creates its tables and seeds its rows (azora: 2M users, 20-50 s on a loaded 2-core
machine). Once every Deployment is Available, and before any traffic or fault, the sandbox copies that database
with ``pg_basebackup`` (a consistent copy of the running server, WAL included) into the run's snapshot directory.
Every later drill of the system offers it to its PostgreSQL pods (a claim link in the directory named by
``DRILLBOOK_PG_SNAPSHOTS`` in the image's environment); the first pod whose identity matches claims it and copies
it instead of the empty template, so the application finds its schema and seed rows in place and is ready in a
second or two. A pod that replaces it later starts empty, as without snapshots (the pods mount no volume).

The data is the same either way: the snapshot is the database exactly as provisioning left it, taken before the
drill touched anything. Identity is the pod's Deployment (from its name), database and roles, so a pod that
matches no snapshot (another Deployment, changed credentials) starts from the empty template as before.
Snapshots live for one run (``<run dir>/snapshots``, removed when the run closes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from drillbook.errors import DatastoreError
from drillbook.platform.local.datastores.template import PG_BIN

SNAPSHOT_ENV = "DRILLBOOK_PG_SNAPSHOTS"
"""A sandbox's directory of snapshot claim links, set in the PostgreSQL images' environment by the local sandbox."""

READY = "drillbook-snapshot-ready"
"""Written last: a snapshot without it is incomplete and never used."""


def snapshot_key(deployment: str, database: str, user: str, app_user: str) -> str:
    """``postgres-azora-1a2b3c4d``: what makes two PostgreSQL pods hold the same provisioned database."""
    digest = hashlib.sha256("\0".join((deployment, database, user, app_user)).encode()).hexdigest()[:12]
    return f"{deployment}-{database}-{digest}"


def key_from_env(env: Mapping[str, str]) -> str | None:
    """The key of the pod this environment belongs to, or ``None`` when it is not a Deployment's pod."""
    pod = env.get("HOSTNAME", "")
    parts = pod.rsplit("-", 2)
    if len(parts) != 3 or not all(parts):
        return None  # a Deployment's pod is <deployment>-<replicaset hash>-<suffix>
    user = env.get("POSTGRES_USER") or "postgres"
    return snapshot_key(parts[0], env.get("POSTGRES_DB") or user, user, env.get("POSTGRES_NON_ROOT_USER") or "")


def offer_snapshots(snapshots: Path, claims: Path) -> int:
    """Offer a sandbox every ready snapshot of its system: one claim link each in ``claims`` (made empty).

    Returns:
        How many snapshots were offered.
    """
    claims.mkdir(parents=True, exist_ok=True)
    offered = 0
    for snapshot in sorted(snapshots.glob("*")) if snapshots.is_dir() else []:
        if (snapshot / READY).exists():
            (claims / snapshot.name).symlink_to(snapshot.resolve())
            offered += 1
    return offered


def claim_snapshot(env: Mapping[str, str]) -> Path | None:
    """The data directory a new PostgreSQL pod copies, when its sandbox offers a snapshot of it; else ``None``.

    Each offer is claimed once (the link is removed), by the sandbox's first pod of that identity: a pod that
    replaces it later (``kubectl delete pod``, a rollout) starts from the empty template, as it always has, since
    the pods mount no volume.
    """
    claims = env.get(SNAPSHOT_ENV)
    key = key_from_env(env)
    if not claims or key is None:
        return None
    link = Path(claims) / key
    try:
        target = link.resolve(strict=True)
        link.unlink()
    except OSError:
        return None  # not offered, or claimed already
    return target / "data" if (target / READY).exists() else None


def take_snapshot(root: Path, key: str, *, host: str, port: int, user: str, password: str) -> Path:
    """Copy a running server into ``root/key`` with ``pg_basebackup`` (a no-op when it is there already).

    Two drills racing to snapshot the same system each copy into a temporary directory; the first rename wins.

    Raises:
        DatastoreError: ``pg_basebackup`` failed (its message and what to check).
    """
    target = root / key
    if (target / READY).exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        command = [
            str(PG_BIN / "pg_basebackup"),
            *("-h", host, "-p", str(port), "-U", user, "-D", str(build / "data")),
            *("-X", "stream", "-c", "fast", "--no-sync", "-w"),
        ]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DatastoreError(f"expected pg_basebackup to copy {host}:{port}, it did not finish: {exc}") from exc
        if done.returncode != 0:
            raise DatastoreError(
                f"expected pg_basebackup to copy PostgreSQL on {host}:{port} as {user!r}, it exited "
                f"{done.returncode}: {done.stderr.strip()[-800:]}. Hint: the scenario's admin_user must be the "
                "server's superuser, with the password the manifests give it."
            )
        (build / READY).write_text(f"pg_basebackup of {host}:{port}\n")
        try:
            build.rename(target)
        except OSError:
            if not (target / READY).exists():
                raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return target


__all__ = [
    "READY",
    "SNAPSHOT_ENV",
    "claim_snapshot",
    "key_from_env",
    "offer_snapshots",
    "snapshot_key",
    "take_snapshot",
]
