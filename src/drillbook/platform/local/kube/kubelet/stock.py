"""The stock image map: common throwaway images (busybox, python, nginx, redis, postgres) as local commands.

Each entry keeps the image's documented ENTRYPOINT/CMD split, so a pod's ``command`` replaces the entrypoint and its
``args`` replace the default command, as with the real image. busybox and python run the host's shell and this
interpreter; nginx, redis and postgres go through ``stock_entry.py``, which plays the image's entrypoint script
(bind to the pod IP, initialise postgres' data directory, serve nginx's welcome page). Scenario image maps win.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from drillbook.platform.local.kube.kubelet.images import ImageMap, ImageSpec

ENTRY = str(Path(__file__).with_name("stock_entry.py"))
SCRATCH_PREFIX = "localkube-pg-"
"""The stock postgres image keeps its data and sockets in ``$TMPDIR/localkube-pg-<hash of the container dir>``."""


def _entry(image: str) -> tuple[str, ...]:
    # -I -S: the stand-in needs only the standard library; it starts in a few milliseconds.
    return ("python", "-I", "-S", ENTRY, image)


def stock_images() -> ImageMap:
    """The default image map every localkube starts with (``--images`` files override entries)."""
    shell = ImageSpec(entrypoint=(), cmd=("sh",))
    images = {
        "busybox": shell,
        "alpine": shell,
        "ubuntu": ImageSpec(entrypoint=(), cmd=("bash",)),
        "debian": ImageSpec(entrypoint=(), cmd=("bash",)),
        "python": ImageSpec(entrypoint=(), cmd=("python",)),
        "nginx": ImageSpec(entrypoint=_entry("nginx"), cmd=("nginx", "-g", "daemon off;")),
        "redis": ImageSpec(entrypoint=_entry("redis"), cmd=("redis-server",)),
        "postgres": ImageSpec(entrypoint=_entry("postgres"), cmd=("postgres",)),
    }
    return ImageMap(images, any_tag=frozenset(images))


def scratch_dir(container_dir: Path, env: Mapping[str, str] | None = None) -> Path:
    """Where the stock postgres image keeps its data for the container whose directory is ``container_dir``.

    Named exactly as ``stock_entry.py`` names it (that script imports nothing of drillbook), in the temp dir the
    container sees: its own ``TMPDIR`` when the pod sets one, else ``/tmp``.
    """
    env = env or {}
    tmp = env.get("TMPDIR") or env.get("TEMP") or env.get("TMP") or "/tmp"
    digest = hashlib.sha256(str(container_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tmp) / f"{SCRATCH_PREFIX}{digest}"


def remove_scratch(container_dirs: Iterable[Path], env: Mapping[str, str] | None = None) -> list[Path]:
    """Remove the stock postgres data of these containers (their pod is gone); return what was removed."""
    removed: list[Path] = []
    for container_dir in container_dirs:
        path = scratch_dir(container_dir, env)
        if path.name.startswith(SCRATCH_PREFIX) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def leftover_scratch(state_dir: Path) -> list[Path]:
    """Remove the stock postgres data of every container a (killed) localkube state dir knew; return it."""
    homes = sorted(state_dir.glob("**/pods/*/*/home"))
    removed = remove_scratch(homes)
    if tempfile.gettempdir() != "/tmp":
        removed += remove_scratch(homes, {"TMPDIR": tempfile.gettempdir()})
    return removed
