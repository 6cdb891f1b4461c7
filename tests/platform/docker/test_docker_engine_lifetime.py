"""A dockerd the docker platform had to start ends with the run; one that was running already is left alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from drillbook.platform.docker import provider as docker_provider
from drillbook.platform.docker.engine import EngineHandle


@pytest.mark.parametrize(("started_now", "stops"), [(True, 1), (False, 0)])
def test_the_run_stops_only_a_dockerd_it_started(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, started_now: bool, stops: int
) -> None:
    stopped: list[str] = []
    registered: list[Callable[[], object]] = []

    class Engine:
        def ensure(self) -> EngineHandle:
            return EngineHandle("27.0", 4242 if started_now else None, started_now=started_now)

        def stop_if_ours(self) -> bool:
            stopped.append("dockerd")
            return True

    monkeypatch.setattr(docker_provider, "DockerEngine", Engine)
    monkeypatch.setattr(docker_provider, "image_exists", lambda _tag: True)
    monkeypatch.setattr(docker_provider.atexit, "register", registered.append)
    docker_provider.provider(tmp_path, tmp_path)
    for hook in registered:  # what runs when the run's process exits
        hook()
    assert len(stopped) == stops


@pytest.mark.parametrize(("platform", "started_now", "shared"), [("docker", True, True), ("docker", False, False),
                                                               ("local", True, False)])  # fmt: skip
def test_parallel_jobs_on_docker_share_one_engine_the_parent_started(
    monkeypatch: pytest.MonkeyPatch, platform: str, started_now: bool, shared: bool
) -> None:
    import drillbook.platform.docker as docker_package
    from drillbook.gherkin import jobs

    class Engine:
        def ensure(self) -> EngineHandle:
            return EngineHandle("27.0", 4242 if started_now else None, started_now=started_now)

    monkeypatch.setattr(docker_package, "DockerEngine", Engine)
    # The parent keeps (and stops after every job ended) only an engine it started; jobs then find it running.
    assert (jobs._shared_engine(platform) is not None) is shared
