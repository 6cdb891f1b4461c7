"""The images a real cluster (kind, k3s) needs for a seed, built locally: ``drillbook images build --seed DIR``.

On ``local`` an image is a line of the image map (``images.yaml``: entrypoint, cmd, env); on a real cluster it must
be a real image under the very name the manifests use, so that ``kind load docker-image NAME`` finds it. The plan
(:func:`seed_image_plan`, pure) makes one per name the kind provider loads
(:func:`drillbook.platform.kind.images_to_load`):

* a datastore name (``postgres:15``, ``redis:7``) is a tag of drillbook's own datastore image
  (:mod:`drillbook.platform.docker.images`), which keeps the ``POSTGRES_USER``/``POSTGRES_PASSWORD``/``POSTGRES_DB``
  contract of the usual images;
* every other name is built on the stand-in image (``drillbook/standin``: Debian's Python 3 and the stand-in's
  libraries from Debian packages, with drillbook's source) with the image map's entrypoint, cmd and env. A bad
  release is thus a real image with its failure baked in: ``zephyr/backend:2.2`` sets ``STANDIN_ERROR_RATE=0.3``.

A datastore name the local engine already holds and that drillbook did not build (a user's real ``postgres:15``) is
kept. Each built image carries a digest of its recipe (``org.drillbook.recipe``), so an edited ``images.yaml`` entry
or stand-in source is rebuilt, and nothing else is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from drillbook.errors import SandboxError
from drillbook.platform.docker.images import (
    FORMAT_LABEL,
    IMAGE_FORMAT,
    IMAGES,
    MANAGED_LABEL,
    BuiltImage,
    Progress,
    build_base,
)

STANDIN_BASE_TAG = "drillbook/standin-base:bookworm"
STANDIN_PACKAGES = (
    "python3",
    "python-is-python3",
    "python3-aiohttp",
    "python3-asyncpg",
    "python3-psutil",
    "python3-redis",
    "python3-yaml",
    "ca-certificates",
)
"""What the stand-in imports (aiohttp, asyncpg, psutil, redis), from Debian's packages: no PyPI needed."""
STANDIN_TAG = f"drillbook/standin:{IMAGE_FORMAT}"
SEED_LABEL = "org.drillbook.seed"
RECIPE_LABEL = "org.drillbook.recipe"
"""A digest of what an image was built from: a changed images.yaml entry or stand-in source rebuilds it."""
DATASTORE_ENTRYPOINTS = {
    "drillbook.platform.local.datastores.postgres_entrypoint": IMAGES["postgres"].tag,
    "drillbook.platform.local.datastores.redis_entrypoint": IMAGES["redis"].tag,
}
"""Image-map entrypoints that run a datastore from the host's binaries → drillbook's datastore image."""


@dataclass(frozen=True)
class ImageBuild:
    """One image of the plan: a ``tag`` of another image, or a ``dockerfile`` built (on the stand-in)."""

    name: str
    how: Literal["debootstrap", "build", "tag"]
    source: str = ""
    """For ``tag``: the image it is a tag of; for ``build``: the image it is built FROM."""
    dockerfile: str = ""

    def command(self) -> tuple[str, ...]:
        """The docker command it comes down to (for the plan in words)."""
        if self.how == "tag":
            return ("docker", "tag", self.source, self.name)
        if self.how == "debootstrap":
            return ("debootstrap", "--variant=minbase", f"--include={','.join(STANDIN_PACKAGES)}", "bookworm", "…")
        return ("docker", "build", "-t", self.name, "…")


def _standin_dockerfile() -> str:
    return (
        f"FROM {STANDIN_BASE_TAG}\n"
        f"LABEL {MANAGED_LABEL}=true {FORMAT_LABEL}={IMAGE_FORMAT}\n"
        "COPY drillbook /opt/drillbook/drillbook\n"
        "ENV PYTHONPATH=/opt/drillbook PYTHONUNBUFFERED=1\n"
    )


def _seed_dockerfile(system: str, entrypoint: Sequence[str], cmd: Sequence[str], env: dict[str, str]) -> str:
    lines = [f"FROM {STANDIN_TAG}", f"LABEL {MANAGED_LABEL}=true {FORMAT_LABEL}={IMAGE_FORMAT} {SEED_LABEL}={system}"]
    lines += [f"ENV {name}={json.dumps(value)}" for name, value in sorted(env.items())]
    lines.append(f"ENTRYPOINT {json.dumps(list(entrypoint))}")
    if cmd:
        lines.append(f"CMD {json.dumps(list(cmd))}")
    return "\n".join(lines) + "\n"


def seed_image_plan(scenario_dir: Path) -> list[ImageBuild]:
    """Every image the kind provider loads for the seed in ``scenario_dir``, in the order to build them (pure).

    Raises:
        SandboxError: a name docker cannot hold, or one no image map says how to run (names it, says what to do).
    """
    from drillbook.platform.kind import images_to_load
    from drillbook.platform.local.datastores import IMAGES_FILE
    from drillbook.platform.local.kube.kubelet.images import ImageMap

    system = scenario_dir.name
    images = scenario_dir / "images.yaml"
    image_map = ImageMap.load(IMAGES_FILE, images)
    plan = [
        ImageBuild(STANDIN_BASE_TAG, "debootstrap"),
        ImageBuild(STANDIN_TAG, "build", STANDIN_BASE_TAG, _standin_dockerfile()),
    ]
    for name in images_to_load(scenario_dir / "manifests.yaml", images):
        repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
        if repository != repository.lower():
            raise SandboxError(
                f"{scenario_dir / 'manifests.yaml'}: the image {name!r} cannot be a docker image (a repository name "
                "must be lowercase), so no real cluster can run it. Hint: drill this seed on the local or docker "
                "platform, or give the image a lowercase name in the manifests and images.yaml"
            )
        spec = image_map.resolve(name)
        if spec is None:
            raise SandboxError(
                f"{images}: no entry for the image {name!r} that the manifests use; add it (entrypoint, cmd, env)"
            )
        module = spec.entrypoint[2] if spec.entrypoint[:2] == ("python", "-m") and len(spec.entrypoint) > 2 else ""
        if module in DATASTORE_ENTRYPOINTS:
            plan.append(ImageBuild(name, "tag", DATASTORE_ENTRYPOINTS[module]))
        else:
            dockerfile = _seed_dockerfile(system, spec.entrypoint, spec.cmd, dict(spec.env))
            plan.append(ImageBuild(name, "build", STANDIN_TAG, dockerfile))
    return plan


def _inspect(tag: str, template: str) -> str | None:
    """``docker image inspect --format template`` of ``tag`` (``None``: no such image)."""
    done = subprocess.run(
        ["docker", "image", "inspect", tag, "--format", template],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


def _label(tag: str, label: str) -> str | None:
    return _inspect(tag, f'{{{{index .Config.Labels "{label}"}}}}')


def recipe(image: ImageBuild) -> str:
    """A digest of what an image is built from (its Dockerfile; for the stand-in, drillbook's source too)."""
    digest = hashlib.sha256(image.dockerfile.encode())
    if image.name == STANDIN_TAG:
        for path in sorted(_package().rglob("*.py")):
            digest.update(path.relative_to(_package()).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _package() -> Path:
    return Path(__file__).resolve().parents[2]


def _fresh(image: ImageBuild) -> bool:
    """The engine holds ``image`` as this plan would make it."""
    if image.how == "tag":
        return _inspect(image.name, "{{.Id}}") == _inspect(image.source, "{{.Id}}") is not None
    if image.how == "debootstrap":
        return _label(image.name, MANAGED_LABEL) == "true"
    return _label(image.name, RECIPE_LABEL) == recipe(image)


def _build(image: ImageBuild) -> None:
    with tempfile.TemporaryDirectory(prefix="drillbook-image-") as tmp:
        context = Path(tmp)
        dockerfile = image.dockerfile + f"LABEL {RECIPE_LABEL}={recipe(image)}\n"
        (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        if image.name == STANDIN_TAG:
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(_package(), context / "drillbook", ignore=ignore)
        done = subprocess.run(
            ["docker", "build", "-q", "-t", image.name, str(context)],
            capture_output=True, text=True, timeout=600, check=False, env={**os.environ, "DOCKER_BUILDKIT": "0"},
        )  # fmt: skip
        if done.returncode != 0:
            raise SandboxError(f"docker build {image.name} failed:\n{(done.stdout + done.stderr)[-1500:]}")


def build_seed_images(scenario_dir: Path, progress: Progress, *, rebuild: bool = False) -> list[BuiltImage]:
    """Build (or tag) every image of :func:`seed_image_plan` that is missing (all of drillbook's with ``rebuild``).

    Raises:
        SandboxError: a build failed, with its output; or the plan cannot be made (see :func:`seed_image_plan`).
    """
    built: list[BuiltImage] = []
    for image in seed_image_plan(scenario_dir):
        started = time.monotonic()
        owner = _label(image.name, MANAGED_LABEL)
        if owner is not None and owner != "true":
            progress(f"kept {image.name}: the engine holds an image of that name that drillbook did not build")
            # (kind loads that one: a user's real image stands in for drillbook's)
            built.append(BuiltImage(image.name, 0.0, cached=True))
            continue
        if not rebuild and _fresh(image):
            built.append(BuiltImage(image.name, 0.0, cached=True))
            continue
        progress(" ".join(image.command()))
        if image.how == "debootstrap":
            build_base(image.name, STANDIN_PACKAGES, progress)
        elif image.how == "tag":
            done = subprocess.run(list(image.command()), capture_output=True, text=True, timeout=60, check=False)
            if done.returncode != 0:
                raise SandboxError(f"docker tag {image.source} {image.name} failed: {done.stderr.strip()}")
        else:
            _build(image)
        built.append(BuiltImage(image.name, time.monotonic() - started, cached=False))
    return built
