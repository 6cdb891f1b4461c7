"""Fixtures for the traffic tests: a real local service per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from traffic_service import TinyService


@pytest.fixture(scope="module")
def service() -> Iterator[TinyService]:
    tiny = TinyService()
    tiny.start()
    try:
        yield tiny
    finally:
        tiny.stop()


@pytest.fixture
def healthy_service(service: TinyService) -> Iterator[TinyService]:
    service.failing = False
    yield service
    service.failing = False
