"""The image map: container image references mapped to local commands (a stand-in for a registry)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from drillbook.errors import ScenarioError

_IMAGE_KEYS = frozenset({"entrypoint", "cmd", "env"})


@dataclass(frozen=True)
class ImageSpec:
    """What running an image means locally.

    Attributes:
        entrypoint: Like Docker ENTRYPOINT; a pod's ``command`` replaces it. A first element ``python`` means the
            interpreter running localkube, so stand-ins find drillbook without a PATH lookup.
        cmd: Like Docker CMD; a pod's ``args`` replaces it.
        env: Image default environment; the pod's env overrides it.
    """

    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def argv(self, command: list[str] | None, args: list[str] | None) -> list[str]:
        """Combine image and pod command lines the way container runtimes do.

        Args:
            command: The pod's ``command`` (replaces entrypoint and cmd when set).
            args: The pod's ``args`` (replaces cmd when set).

        Returns:
            The argv to execute, with ``python`` resolved to this interpreter.
        """
        if command:
            argv = list(command) + list(args or [])
        else:
            argv = list(self.entrypoint) + (list(args) if args else list(self.cmd))
        if argv and argv[0] == "python":
            argv[0] = sys.executable
        return argv


def _normalize(image: str) -> str:
    """Reduce ``docker.io/library/redis:7`` and ``redis`` forms so either spelling finds the map entry."""
    name = image.strip()
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":latest"
    return name


def _repository(image: str) -> str:
    """``nginx:1.15.4`` → ``nginx`` (digests and tags dropped, registry path kept)."""
    name = _normalize(image).split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return (head + "/" if head else "") + last.split(":", 1)[0]


#: Word tags official images publish; any other tag must start with a digit (``1.27``, ``3.12-slim``) to count.
_WORD_TAGS = frozenset({"latest", "stable", "mainline", "alpine", "slim", "bookworm", "bullseye", "jammy", "noble"})


def _released_tag(image: str) -> bool:
    """Whether a tag looks like one the registry has: a version or a known word, so ``redis:does-not-exist``
    (the bad-image fault) still fails to pull while ``redis:7.2-alpine`` finds the stock entry."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return tag[:1].isdigit() or tag in _WORD_TAGS


class ImageMap:
    """Image reference → :class:`ImageSpec`; an unknown image behaves like a failed pull."""

    def __init__(self, images: Mapping[str, ImageSpec] | None = None, *, any_tag: frozenset[str] = frozenset()) -> None:
        """Map references to specs.

        Args:
            images: Reference (``redis:7``; no tag means ``latest``) → spec.
            any_tag: Untagged references in ``images`` that also stand for every other tag of that repository
                (``nginx`` for ``nginx:1.15.4``) when no exact entry exists.
        """
        self._images: dict[str, ImageSpec] = {_normalize(k): v for k, v in (images or {}).items()}
        self._any_tag: dict[str, ImageSpec] = {_repository(k): self._images[_normalize(k)] for k in any_tag}

    @classmethod
    def load(cls, *paths: Path) -> ImageMap:
        """Read one or more YAML files ``{"images": {"redis:7": {"entrypoint": [...], ...}}}``; later files win.

        Raises:
            ScenarioError: A file is unreadable or an entry is malformed (the message names the file and entry).
        """
        result = cls()
        for path in paths:
            result = result.merged(cls._load_one(Path(path)))
        return result

    @classmethod
    def _load_one(cls, path: Path) -> ImageMap:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ScenarioError(f"expected a readable YAML image map, got: {exc}", path=path) from exc
        if not isinstance(data, dict) or not isinstance(data.get("images"), dict):
            raise ScenarioError(
                "expected a mapping with an 'images' key (images: {redis:7: {entrypoint: [...]}}), "
                f"got {type(data).__name__}; add the 'images:' mapping",
                path=path,
            )
        images: dict[str, ImageSpec] = {}
        for ref, entry in data["images"].items():
            images[str(ref)] = _parse_entry(path, str(ref), entry)
        return cls(images)

    def merged(self, other: ImageMap) -> ImageMap:
        """Return a new map with ``other``'s entries overriding this one's."""
        result = ImageMap()
        result._images = {**self._images, **other._images}
        result._any_tag = {**self._any_tag, **other._any_tag}
        return result

    def resolve(self, image: str) -> ImageSpec | None:
        """Look an image reference up; ``None`` means the pull fails."""
        name = _normalize(image)
        found = self._images.get(name)
        if found is not None or not _released_tag(name):
            return found
        return self._any_tag.get(_repository(name))

    def __contains__(self, image: object) -> bool:
        return isinstance(image, str) and self.resolve(image) is not None

    def __len__(self) -> int:
        return len(self._images)


def _string_list(path: Path, ref: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ScenarioError(f"image {ref!r}: expected {key} to be a list of strings, got {value!r}", path=path)
    return tuple(str(v) for v in value)


def _parse_entry(path: Path, ref: str, entry: Any) -> ImageSpec:
    if not isinstance(entry, dict):
        raise ScenarioError(f"image {ref!r}: expected a mapping with 'entrypoint', got {entry!r}", path=path)
    unknown = set(entry) - _IMAGE_KEYS
    if unknown:
        raise ScenarioError(
            f"image {ref!r}: unknown keys {sorted(unknown)}; allowed are {sorted(_IMAGE_KEYS)}", path=path
        )
    entrypoint = _string_list(path, ref, "entrypoint", entry.get("entrypoint"))
    cmd = _string_list(path, ref, "cmd", entry.get("cmd"))
    if not entrypoint and not cmd:
        raise ScenarioError(f"image {ref!r}: expected an 'entrypoint' or 'cmd', got neither", path=path)
    env = entry.get("env") or {}
    if not isinstance(env, dict):
        raise ScenarioError(f"image {ref!r}: expected env to be a mapping, got {env!r}", path=path)
    return ImageSpec(entrypoint=entrypoint, cmd=cmd, env=MappingProxyType({str(k): str(v) for k, v in env.items()}))
