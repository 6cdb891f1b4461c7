"""Test tiers, enforced rather than remembered.

- **unit** (no marker): no real servers, no subprocesses, no sleeping; runs in parallel (pytest-xdist).
- **live** (``@pytest.mark.live``): real PostgreSQL, Redis, localkube, locust, the fault proxy, subprocesses.
- **docker**, **browser**, **gameday**: need a Docker engine, headless Chromium, or run the whole game day.

A unit-tier test that starts a process or sleeps fails at once, naming the marker it needs: the tier is a property
the suite checks, so ``make test-fast`` stays fast and free of real servers by construction.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OUTER_TIERS = ("live", "docker", "browser", "gameday")
"""Markers that take a test out of the unit tier."""

SLEEP_ALLOWANCE_S = 0.05
"""The longest single sleep a unit test may take: enough for a thread hand-off, far too short to wait on time."""


def _in_unit_tier(item: pytest.Item) -> bool:
    return not any(item.get_closest_marker(name) for name in OUTER_TIERS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``slow`` is the old name of ``live``: a test marked slow belongs to the live tier."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("live"):
            item.add_marker(pytest.mark.live)


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist, fix the run's id in the controller too, so it finds what the workers share (the lock files)."""
    if _xdist_controller(config) and getattr(config.option, "testrunuid", "unset") is None:
        config.option.testrunuid = uuid.uuid4().hex


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under xdist, once every worker has finished, the controller stops a Docker engine a worker had to start and
    removes the run's shared files."""
    if not _xdist_controller(session.config):
        return
    run = session.config.option.testrunuid
    if _shared_path(run, "dockerd-started").exists():
        from drillbook.platform.docker import DockerEngine

        DockerEngine().stop_if_ours()
    for what in ("dockerd-started", "docker.lock", "lock"):
        _shared_path(run, what).unlink(missing_ok=True)


def _xdist_controller(config: pytest.Config) -> bool:
    return not os.environ.get("PYTEST_XDIST_WORKER") and bool(getattr(config.option, "numprocesses", None))


def _shared_path(run: str, what: str) -> Path:
    """A file the controller and workers of one xdist run share."""
    return Path(tempfile.gettempdir()) / f"drillbook-tests-{run}.{what}"


def _machine_lock_path() -> Path | None:
    """The lock file the workers of one xdist run share, or None outside xdist."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run or not os.environ.get("PYTEST_XDIST_WORKER"):
        return None
    return _shared_path(run, "lock")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Live tests share the machine; one marked ``alone`` runs while no other live test does.

    Shared tests hold a shared lock, an ``alone`` test the exclusive one (fcntl.flock on one file per xdist run),
    so a test that loads both cores or times a recovery is never measured beside another worker's load. The lock
    spans the whole protocol: module fixtures set up for a test, and torn down after it, run under its lock.
    """
    path = _machine_lock_path()
    if path is None or _in_unit_tier(item):
        yield
        return
    mode = fcntl.LOCK_EX if item.get_closest_marker("alone") else fcntl.LOCK_SH
    with path.open("a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class TierViolation(AssertionError):
    """A unit-tier test did something only the live tier may do."""


def _refuse(what: str) -> Any:
    def refuse(*_: Any, **__: Any) -> Any:
        raise TierViolation(
            f"a unit-tier test {what}; mark it @pytest.mark.live (real processes and servers) "
            "or give it a fake (a fake clock, an in-memory client)"
        )

    return refuse


@pytest.fixture(autouse=True)
def _unit_tier_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a unit-tier test that starts a process, listens on a network socket or sleeps."""
    if not _in_unit_tier(request.node):
        yield
        return
    real_sleep = time.sleep

    def short_sleep(seconds: float) -> None:
        if seconds > SLEEP_ALLOWANCE_S:
            _refuse(f"slept {seconds} s")()
        real_sleep(seconds)

    monkeypatch.setattr(subprocess.Popen, "_execute_child", _refuse("started a subprocess"))
    monkeypatch.setattr(os, "fork", _refuse("forked"))
    monkeypatch.setattr(os, "posix_spawn", _refuse("spawned a process"))
    real_listen = socket.socket.listen

    def listen_locally_only(sock: socket.socket, *args: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            _refuse("started a network server")()
        real_listen(sock, *args)

    monkeypatch.setattr(time, "sleep", short_sleep)
    monkeypatch.setattr(socket.socket, "listen", listen_locally_only)
    yield


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A Docker engine with drillbook's images; the tests skip, saying why, where none can run.

    An engine this session had to start is stopped at its end; one that was running already is left alone. Under
    xdist the workers take turns to start it and build the images, and the controller stops an engine a worker
    started once all workers are done (a worker's session ends while the other may still use it).
    """
    from drillbook.errors import SandboxError
    from drillbook.platform.docker import DockerEngine, build_images

    engine = DockerEngine()
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") if os.environ.get("PYTEST_XDIST_WORKER") else None
    with contextlib.ExitStack() as setup:
        if run:  # one worker at a time starts the engine and builds the images
            handle_file = setup.enter_context(_shared_path(run, "docker.lock").open("a"))
            fcntl.flock(handle_file, fcntl.LOCK_EX)
        try:
            handle = engine.ensure()
        except SandboxError as exc:
            pytest.skip(f"the Docker tier needs a Docker engine: {exc}")
        if run and handle.started_now:
            _shared_path(run, "dockerd-started").touch()  # the controller stops it when all workers are done
        try:
            build_images(lambda line: print(f"drillbook images: {line}"))
        except BaseException:
            if handle.started_now and not run:
                engine.stop_if_ours()
            raise
    try:
        yield handle
    finally:
        if handle.started_now and not run:
            engine.stop_if_ours()
