"""Images drillbook builds locally: a Debian base from debootstrap, and PostgreSQL/Redis images on top of it.

No registry is needed. The base is ``debootstrap --variant=minbase bookworm`` with Debian's PostgreSQL 15 and Redis
packages included, imported with ``docker import``; each datastore image adds one entrypoint script. Images are
labelled ``org.drillbook.managed=true`` and rebuilt only when missing (the engine caches them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from drillbook.errors import SandboxError

MANAGED_LABEL = "org.drillbook.managed"
FORMAT_LABEL = "org.drillbook.image-format"
#: Bump when an entrypoint or build step changes, so images built by an older drillbook are rebuilt.
IMAGE_FORMAT = "2"
BASE_TAG = "drillbook/base:bookworm"
MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("postgresql-15", "redis-server", "ca-certificates")
#: Left out of the base: package caches, lists, docs and locales are dead weight in a throwaway datastore.
PRUNE = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale")

POSTGRES_ENTRYPOINT = r"""#!/bin/sh
# drillbook's PostgreSQL image: the POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB contract of the usual
# postgres images, on Debian's packages. The cluster was initialised when the image was built; a start copies it
# and creates the role and database. Extra arguments become server settings (-c name=value).
set -eu
BIN=/usr/lib/postgresql/15/bin
PGDATA=${PGDATA:-/var/lib/drillbook/pgdata}
USER_NAME=${POSTGRES_USER:-postgres}
DB_NAME=${POSTGRES_DB:-$USER_NAME}
quote() { printf "%s" "$1" | sed "s/'/''/g"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  cp -a /var/lib/drillbook/template "$PGDATA"
  password=$(quote "${POSTGRES_PASSWORD:-postgres}")
  if [ "$USER_NAME" = postgres ]; then
    sql="ALTER ROLE postgres PASSWORD '$password';"
  else
    sql="CREATE ROLE \"$USER_NAME\" LOGIN SUPERUSER PASSWORD '$password';"
  fi
  if [ "$DB_NAME" != postgres ]; then
    sql="$sql
CREATE DATABASE \"$DB_NAME\" OWNER \"$USER_NAME\";"
  fi
  printf '%s\n' "$sql" | runuser -u postgres -- "$BIN/postgres" --single -D "$PGDATA" postgres >/dev/null
fi
exec runuser -u postgres -- "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' \
  -c unix_socket_directories=/tmp "$@"
"""

REDIS_ENTRYPOINT = r"""#!/bin/sh
# drillbook's Redis image: Debian's redis-server on every interface of the container, no persistence.
set -eu
exec runuser -u redis -- /usr/bin/redis-server --bind 0.0.0.0 --protected-mode no --save '' --appendonly no "$@"
"""


POSTGRES_INIT = (
    "mkdir -p /var/lib/drillbook && chown postgres:postgres /var/lib/drillbook && "
    "runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D /var/lib/drillbook/template -U postgres "
    "--auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C --no-sync --no-instructions && "
    "echo 'host all all 0.0.0.0/0 scram-sha-256' >> /var/lib/drillbook/template/pg_hba.conf"
)


@dataclass(frozen=True)
class ImageSpec:
    """One image drillbook builds on the base: its tag, entrypoint script and build-time preparation."""

    tag: str
    entrypoint: str
    port: int
    prepare: str = "true"
    """A shell command run once when the image is built (PostgreSQL initialises its cluster here)."""


IMAGES: dict[str, ImageSpec] = {
    "postgres": ImageSpec("drillbook/postgres:15", POSTGRES_ENTRYPOINT, 5432, POSTGRES_INIT),
    "redis": ImageSpec("drillbook/redis:7", REDIS_ENTRYPOINT, 6379),
}


@dataclass(frozen=True)
class BuiltImage:
    """What ``build_images`` did for one image."""

    tag: str
    seconds: float
    cached: bool


Progress = Callable[[str], None]


def _docker(*args: str, stdin: bytes | None = None, timeout: float = 900) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["docker", *args], input=stdin, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(f"docker {args[0]} failed: {exc}; is the Docker engine running?") from exc


def image_exists(tag: str, *, image_format: str | None = None) -> bool:
    """Whether the engine already holds ``tag`` (built in ``image_format``, when given)."""
    done = _docker("image", "inspect", tag, "--format", f'{{{{index .Config.Labels "{FORMAT_LABEL}"}}}}', timeout=30)
    if done.returncode != 0:
        return False
    return image_format is None or done.stdout.decode().strip() == image_format


def build_base(tag: str, packages: Sequence[str], progress: Progress) -> None:
    """A Debian bookworm base image from Debian's packages: ``debootstrap --variant=minbase`` with ``packages``,
    pruned, then ``docker import``-ed as ``tag``.

    Raises:
        SandboxError: debootstrap is missing or failed, or the import failed, with their output.
    """
    if shutil.which("debootstrap") is None:
        raise SandboxError("expected debootstrap to build the base image; install it: apt-get install -y debootstrap")
    with tempfile.TemporaryDirectory(prefix="drillbook-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        progress(f"debootstrap --variant=minbase bookworm with {', '.join(packages)} (once; a few minutes)")
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", "bookworm", str(root)]
        done = subprocess.run([*cmd, MIRROR], capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode != 0:
            raise SandboxError(f"debootstrap exited {done.returncode}:\n{(done.stdout + done.stderr)[-2000:]}")
        for part in PRUNE:
            shutil.rmtree(root / part, ignore_errors=True)
        progress(f"docker import {tag}")
        tar = subprocess.run(["tar", "-C", str(root), "-c", "."], capture_output=True, check=True, timeout=600)
        imported = _docker("import", "-c", f"LABEL {MANAGED_LABEL}=true", "-", tag, stdin=tar.stdout)
        if imported.returncode != 0:
            raise SandboxError(f"docker import failed: {imported.stderr.decode(errors='replace')[-1500:]}")


def _build_one(spec: ImageSpec) -> None:
    with tempfile.TemporaryDirectory(prefix="drillbook-image-") as tmp:
        context = Path(tmp)
        (context / "entrypoint").write_text(spec.entrypoint)
        (context / "Dockerfile").write_text(
            f"FROM {BASE_TAG}\n"
            f"LABEL {MANAGED_LABEL}=true {FORMAT_LABEL}={IMAGE_FORMAT}\n"
            "COPY entrypoint /usr/local/bin/drillbook-entrypoint\n"
            f"RUN chmod 0755 /usr/local/bin/drillbook-entrypoint && {spec.prepare}\n"
            f"EXPOSE {spec.port}\n"
            'ENTRYPOINT ["/usr/local/bin/drillbook-entrypoint"]\n'
        )
        # The classic builder needs nothing beyond the engine (no buildx plugin, no registry).
        done = subprocess.run(
            ["docker", "build", "-q", "-t", spec.tag, str(context)],
            capture_output=True, text=True, timeout=600, check=False, env={**os.environ, "DOCKER_BUILDKIT": "0"},
        )  # fmt: skip
        if done.returncode != 0:
            raise SandboxError(f"docker build {spec.tag} failed:\n{(done.stdout + done.stderr)[-1500:]}")


def build_images(progress: Progress, *, rebuild: bool = False) -> list[BuiltImage]:
    """Build the base and every datastore image that is missing (all of them with ``rebuild``).

    Raises:
        SandboxError: a build step failed, with its output.
    """
    built: list[BuiltImage] = []
    started = time.monotonic()
    if rebuild or not image_exists(BASE_TAG):
        build_base(BASE_TAG, BASE_PACKAGES, progress)
        built.append(BuiltImage(BASE_TAG, time.monotonic() - started, cached=False))
    else:
        built.append(BuiltImage(BASE_TAG, 0.0, cached=True))
    for spec in IMAGES.values():
        started = time.monotonic()
        if not rebuild and image_exists(spec.tag, image_format=IMAGE_FORMAT):
            built.append(BuiltImage(spec.tag, 0.0, cached=True))
            continue
        progress(f"docker build {spec.tag}")
        _build_one(spec)
        built.append(BuiltImage(spec.tag, time.monotonic() - started, cached=False))
    return built
