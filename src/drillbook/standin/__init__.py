"""The stand-in service: one configurable aiohttp app that plays each system's API, described
by the system's ``scenarios/<system>/standin.yaml``.

Run one replica with ``python -m drillbook.standin --profile zephyr-voting`` (configuration from env vars, see
:mod:`drillbook.standin.config` for every variable and failure mode). In-process use::

    config = StandinConfig.from_env(get_profile("azora"), env)
    exit_code = await serve(config, make_logger(config.profile))
"""

from __future__ import annotations

from drillbook.standin.app import build_app, make_logger, run, serve
from drillbook.standin.config import MissingConfigError, StandinConfig
from drillbook.standin.profiles import Profile, Resource, get_profile, known_profiles

__all__ = [
    "MissingConfigError",
    "Profile",
    "Resource",
    "StandinConfig",
    "build_app",
    "get_profile",
    "known_profiles",
    "make_logger",
    "run",
    "serve",
]
