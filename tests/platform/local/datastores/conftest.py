"""Fixtures for datastore tests: instances in per-test dirs, always stopped."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillbook.platform.local.datastores import PostgresInstance, RedisInstance


@pytest.fixture(scope="module")
def shared_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresInstance]:
    """One PostgreSQL instance for read-only checks in a module."""
    with PostgresInstance(base_dir=tmp_path_factory.mktemp("pg")) as pg:
        yield pg


@pytest.fixture
def redis_instance(tmp_path: Path) -> Iterator[RedisInstance]:
    """A running Redis with default settings."""
    with RedisInstance(base_dir=tmp_path / "redis") as instance:
        yield instance


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory the ``postgres`` user can traverse (unlike pytest's root-only tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="drillbook-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
