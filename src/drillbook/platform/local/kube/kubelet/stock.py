"""The stock image map: common throwaway images (busybox, python, nginx, redis, postgres) as local commands.

Each entry keeps the image's documented ENTRYPOINT/CMD split, so a pod's ``command`` replaces the entrypoint and its
``args`` replace the default command, as with the real image. busybox and python run the host's shell and this
interpreter; nginx, redis and postgres go through ``stock_entry.py``, which plays the image's entrypoint script
(bind to the pod IP, initialise postgres' data directory, serve nginx's welcome page). Scenario image maps win.
"""

from __future__ import annotations

from pathlib import Path

from drillbook.platform.local.kube.kubelet.images import ImageMap, ImageSpec

ENTRY = str(Path(__file__).with_name("stock_entry.py"))


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
