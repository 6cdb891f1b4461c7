"""Toxics, one module each; every module registers its class with ``@register``.

The registry is filled on first use by importing every module of this package, so adding a toxic
touches one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from drillbook.platform.local.toxiproxy.toxics.base import Toxic

T = TypeVar("T", bound=type[Toxic])

_REGISTRY: dict[str, type[Toxic]] = {}


def register(cls: T) -> T:
    """Class decorator: make a toxic available under its ``type_name``."""
    _REGISTRY[cls.type_name] = cls
    return cls


def registry() -> dict[str, type[Toxic]]:
    """Every toxic type by name (imports the toxic modules on first call)."""
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(_REGISTRY)


__all__ = ["Toxic", "register", "registry"]
