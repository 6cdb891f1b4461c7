"""A cached, initdb'd PostgreSQL data directory that instances copy instead of running initdb each time."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from drillbook.errors import DatastoreError
from drillbook.platform.local.datastores._host import Account, cache_dir, chown_tree, postgres_account, runtime_root

#: Debian's PostgreSQL 15 binaries.
PG_BIN = Path("/usr/lib/postgresql/15/bin")

#: Bump when the template's contents change, so stale caches are not reused.
TEMPLATE_FORMAT = 2


def pg_hba(host_auth: str) -> str:
    """Only loopback clients, checked with ``host_auth`` over TCP; the local socket trusts (it is in a private dir)."""
    return (
        "# drillbook: rewritten at every start\n"
        "local   all   all                  trust\n"
        f"host    all   all   127.0.0.0/8    {host_auth}\n"
        f"host    all   all   ::1/128        {host_auth}\n"
        # pg_basebackup's replication connection, for the run's snapshot of a provisioned system (snapshot.py).
        f"host    replication   all   127.0.0.0/8    {host_auth}\n"
    )


def pg_version() -> str:
    """The server's version, e.g. ``15.4``, which keys the template cache."""
    try:
        out = subprocess.run([str(PG_BIN / "postgres"), "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DatastoreError(
            f"expected PostgreSQL 15 at {PG_BIN}, could not run it: {exc}. Hint: apt-get install postgresql-15."
        ) from exc
    match = re.search(r"\) (\d+(?:\.\d+)*)", out.stdout)
    return match.group(1) if match else out.stdout.split()[-1].strip("()")


def initdb(data_dir: Path, account: Account) -> None:
    """Run initdb as ``account`` into ``data_dir`` (its parent must exist and be reachable by ``account``)."""
    cmd = [
        str(PG_BIN / "initdb"),
        "-D",
        str(data_dir),
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--no-sync",
        # 1 MB WAL segments instead of 16: the copy every instance makes shrinks from ~39 MB to ~24 MB.
        "--wal-segsize=1",
        "--no-instructions",
    ]
    result = subprocess.run(
        cmd, check=False, capture_output=True, text=True, user=account.uid, group=account.gid, extra_groups=[], cwd="/"
    )
    if result.returncode != 0:
        raise DatastoreError(
            f"expected initdb to create {data_dir}, it exited with {result.returncode}:\n"
            f"{result.stderr.strip()[-2000:]}\nHint: check that user 'postgres' can write to {data_dir.parent}."
        )
    (data_dir / "pg_hba.conf").write_text(pg_hba("scram-sha-256"))
    os.chown(data_dir / "pg_hba.conf", account.uid, account.gid)


def ensure_template() -> Path:
    """Return the template data directory, building it once per PostgreSQL version.

    Concurrent callers may race: each builds in its own temp dir and renames it into place; a loser
    discards its copy and uses the winner's.
    """
    target = cache_dir() / f"postgres-{pg_version()}-template-v{TEMPLATE_FORMAT}"
    if (target / "PG_VERSION").exists():
        return target
    account = postgres_account()
    build = Path(tempfile.mkdtemp(prefix="pg-template-", dir=runtime_root()))
    try:
        os.chown(build, account.uid, account.gid)
        initdb(build / "data", account)
        staged = build / "data"
        if os.stat(build).st_dev != os.stat(target.parent).st_dev:
            # A cache on another filesystem: copy next to the target first so the final rename is atomic.
            staged = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent)) / "data"
            subprocess.run(["cp", "-a", str(build / "data"), str(staged)], check=True)
        try:
            staged.rename(target)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        if staged.parent != build:
            shutil.rmtree(staged.parent, ignore_errors=True)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return target


def copy_template(template: Path, dest: Path, account: Account) -> None:
    """Copy the template into ``dest`` (which must not exist), owned by ``account`` with mode 0700."""
    # cp -a keeps ownership and modes and is much faster than shutil.copytree for ~1,000 small files.
    result = subprocess.run(["cp", "-a", str(template), str(dest)], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        with contextlib.suppress(OSError):
            shutil.rmtree(dest)
        raise DatastoreError(
            f"expected to copy the PostgreSQL template {template} to {dest}: {result.stderr.strip()}. "
            f"Hint: delete {template} to rebuild it, or check free disk space."
        )
    if dest.stat().st_uid != account.uid:
        chown_tree(dest, account)
    dest.chmod(0o700)
