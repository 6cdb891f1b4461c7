"""Fixtures for localkube tests: one localkube subprocess per module, and a kubectl runner for it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from kube_harness import Kubectl, start_localkube

from drillbook.platform.local.kube.cluster import LocalKubeProcess


@pytest.fixture(scope="module")
def localkube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKubeProcess]:
    kube = start_localkube(tmp_path_factory.mktemp("localkube"))
    try:
        yield kube
    finally:
        kube.stop()


@pytest.fixture(scope="module")
def kubectl(localkube: LocalKubeProcess) -> Kubectl:
    env = {**os.environ, **localkube.env(), "HOME": str(localkube.state_dir)}
    return Kubectl(env=env, cwd=localkube.state_dir)
