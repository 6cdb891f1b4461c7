"""Configuration, metrics rendering and the capacity model, without any server."""

from __future__ import annotations

import asyncio

import pytest
from standin_promtext import parse, value

from drillbook.errors import UsageError
from drillbook.standin.app import make_logger
from drillbook.standin.capacity import Capacity, Saturated
from drillbook.standin.config import MissingConfigError, StandinConfig
from drillbook.standin.metrics import Registry, single
from drillbook.standin.profiles import get_profile
from drillbook.standin.service import Standin

BASE = {"DATABASE_URL": "postgresql://a:b@127.0.0.1:5432/x", "REDIS_URL": "redis://127.0.0.1:6379/0"}


def test_missing_database_url_names_the_variable() -> None:
    with pytest.raises(MissingConfigError, match="Missing required environment variable DATABASE_URL"):
        StandinConfig.from_env(get_profile("zephyr-voting"), {"REDIS_URL": "redis://x"})


def test_a_bad_release_can_require_config_the_deployment_lacks() -> None:
    env = {**BASE, "STANDIN_REQUIRED_ENV": "FEATURE_FLAGS_URL"}
    with pytest.raises(MissingConfigError, match="FEATURE_FLAGS_URL"):
        StandinConfig.from_env(get_profile("zephyr-voting"), env)


def test_db_host_parts_stand_in_for_database_url() -> None:
    env = {"REDIS_URL": "redis://r:6379/0", "DB_HOST": "10.0.0.5", "DB_USER": "zephyr", "DB_PASSWORD": "p@ss"}
    config = StandinConfig.from_env(get_profile("zephyr-voting"), env)
    assert config.database_url == "postgresql://zephyr:p%40ss@10.0.0.5:5432/zephyr"


def test_pool_size_comes_from_the_runbooks_own_variable() -> None:
    assert StandinConfig.from_env(get_profile("zephyr-voting"), {**BASE, "DB_POOL_MAX": "3"}).pool_size == 3
    assert (
        StandinConfig.from_env(get_profile("azora"), {**BASE, "JWT_SECRET": "s", "DATABASE_POOL_SIZE": "50"}).pool_size
        == 50
    )
    phase5 = {**BASE, "DATABASE_POOL_SIZE": "20", "DATABASE_MAX_OVERFLOW": "10"}
    assert StandinConfig.from_env(get_profile("phase5-todo"), phase5).pool_size == 30


def test_memory_limit_accepts_kubernetes_quantities() -> None:
    profile = get_profile("architect-api")
    for raw, mb in (("512Mi", 512), ("1Gi", 1024), ("256", 256), (str(300 * 2**20), 300)):
        assert StandinConfig.from_env(profile, {**BASE, "STANDIN_HEAP_LIMIT_MB": raw}).heap_limit_mb == mb


def test_malformed_numbers_name_variable_and_value() -> None:
    with pytest.raises(UsageError, match=r"MAX_CONCURRENCY must be an integer, got 'lots'"):
        StandinConfig.from_env(get_profile("architect-api"), {**BASE, "MAX_CONCURRENCY": "lots"})


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match="architect-api, azora, chat-rooms, phase5-todo, zephyr-voting"):
        get_profile("zephyr")


def test_registry_renders_parseable_text_with_cumulative_buckets() -> None:
    registry = Registry()
    requests = registry.counter("http_requests_total", "Requests.")
    latency = registry.histogram("http_request_duration_seconds", "Latency.", (0.1, 1.0))
    registry.gauge("redis_connected", "Redis up.", lambda: single(1))
    requests.inc(method="GET", route='/api/"x"', status="200")
    for seconds in (0.05, 0.5, 5.0):
        latency.observe(seconds, route="/a")
    types, samples = parse(registry.render())
    assert types == {
        "http_requests_total": "counter",
        "http_request_duration_seconds": "histogram",
        "redis_connected": "gauge",
    }
    assert value(samples, "http_requests_total", route='/api/\\"x\\"') == 1
    assert [value(samples, "http_request_duration_seconds_bucket", le=le) for le in ("0.1", "1", "+Inf")] == [1, 2, 3]
    assert value(samples, "http_request_duration_seconds_count") == 3
    assert value(samples, "redis_connected") == 1


def test_capacity_serves_at_most_max_concurrency_queues_the_rest_and_refuses_past_the_queue() -> None:
    async def scenario() -> tuple[int, int, int, list[str]]:
        capacity = Capacity(max_concurrency=2, max_queue=3, service_time_ms=50)
        peak_in_service = peak_queued = 0
        outcomes: list[str] = []
        release = asyncio.Event()

        async def one() -> None:
            nonlocal peak_in_service, peak_queued
            try:
                async with capacity.slot():
                    peak_in_service = max(peak_in_service, capacity.in_service)
                    await release.wait()
                outcomes.append("served")
            except Saturated:
                outcomes.append("refused")

        tasks = [asyncio.create_task(one()) for _ in range(7)]
        for _ in range(20):
            await asyncio.sleep(0.01)
            peak_queued = max(peak_queued, capacity.queued)
        release.set()
        await asyncio.gather(*tasks)
        return peak_in_service, peak_queued, capacity.rejected, outcomes

    in_service, queued, rejected, outcomes = asyncio.run(scenario())
    assert in_service == 2
    assert queued == 3
    assert rejected == 2
    assert sorted(outcomes) == ["refused"] * 2 + ["served"] * 5


def test_service_link_style_ports_are_understood() -> None:
    env = {"DATABASE_URL": "postgresql://a@h/x", "REDIS_HOST": "127.20.0.2", "REDIS_PORT": "tcp://127.20.0.2:6380"}
    assert StandinConfig.from_env(get_profile("zephyr-voting"), env).redis_url == "redis://127.20.0.2:6380/0"


def test_an_unexpanded_service_variable_is_a_clear_startup_error() -> None:
    env = {**BASE, "REDIS_URL": "redis://$(REDIS_SERVICE_HOST):$(REDIS_SERVICE_PORT)/0"}
    with pytest.raises(UsageError, match=r"Invalid REDIS_URL: .*Kubernetes could not expand it"):
        StandinConfig.from_env(get_profile("zephyr-voting"), env)


@pytest.mark.parametrize(("raw", "share"), [("1", 1.0), ("true", 1.0), ("0.1", 0.1), ("5", 1.0), ("", 0.0)])
def test_the_connection_leak_is_a_share_of_requests_or_a_flag_for_all(raw: str, share: float) -> None:
    env = {"DATABASE_URL": "postgresql://u:p@db:5432/x", "REDIS_URL": "redis://r:6379/0"}
    config = StandinConfig.from_env(get_profile("zephyr-voting"), env | {"STANDIN_LEAK_CONNECTIONS": raw})
    assert config.leak_connections == share


@pytest.mark.parametrize(("growth", "rss_mb", "pause_s"), [(0.0, 90, 0.0), (20.0, 40, 0.0), (20.0, 75, 1.0)])
def test_a_leaking_replica_near_its_heap_limit_pauses_requests_for_gc(
    growth: float, rss_mb: int, pause_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"DATABASE_URL": "postgresql://u:p@db:5432/x", "REDIS_URL": "redis://r:6379/0"}
    env |= {"STANDIN_HEAP_LIMIT_MB": "100", "STANDIN_MEMORY_GROWTH_MB_PER_S": str(growth)}
    state = Standin(
        StandinConfig.from_env(get_profile("zephyr-voting"), env), make_logger(get_profile("zephyr-voting"))
    )
    monkeypatch.setattr(state, "rss", lambda: rss_mb * 1024 * 1024)
    assert state.gc_pause_s() == pytest.approx(pause_s)
