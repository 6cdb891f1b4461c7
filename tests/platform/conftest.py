"""Platform tests: the Docker tier's engine (started by drillbook when none runs) and the locally built images."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drillbook.errors import SandboxError
from drillbook.platform.docker import DockerEngine, EngineHandle, build_images


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[EngineHandle]:
    """A Docker engine with drillbook's images; the tests skip, saying why, where none can run.

    An engine this session had to start is stopped at its end; one that was running already is left alone.
    """
    engine = DockerEngine()
    try:
        handle = engine.ensure()
    except SandboxError as exc:
        pytest.skip(f"the Docker tier needs a Docker engine: {exc}")
    try:
        build_images(lambda line: print(f"drillbook images: {line}"))
        yield handle
    finally:
        if handle.started_now:
            engine.stop_if_ours()
