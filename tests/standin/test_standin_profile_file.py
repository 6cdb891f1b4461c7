"""standin.yaml: the seed profiles as data, and a new system described without Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.errors import ScenarioError, UsageError
from drillbook.standin.config import StandinConfig
from drillbook.standin.metrics import Registry
from drillbook.standin.profile_file import check_profile, load_profile
from drillbook.standin.profiles import default_scenarios_dir, get_profile, known_profiles

SEEDS = ("architect-api", "azora", "chat-rooms", "phase5-todo", "zephyr-voting")
BASE = {"DATABASE_URL": "postgresql://a@127.0.0.1/x", "REDIS_URL": "redis://127.0.0.1:6379/0"}

ORDERS = """\
service: orders-api
port: 8080
database: orders
required_env: [DATABASE_URL, REDIS_URL]
pool:
  size_vars: [ORDERS_DB_POOL_SIZE]
  default_size: 5
  timeout_message: "pool exhausted (ORDERS_DB_POOL_SIZE={size}, waited {timeout}ms)"
metrics:
  names:
    db_pool_max: orders_db_pool_max
    db_pool_active: orders_db_pool_active
    http_requests_total: orders_http_requests_total
resource:
  path: orders
  table: orders
  fields: [customer_id, status]
  search: [customer_id]
  index_sql: CREATE INDEX IF NOT EXISTS idx_orders_customer ON orders(customer_id)
endpoints:
  - {method: GET, path: /api/orders/summary, latency_ms: 40, uses: [postgres], body: {open: 3}}
failure_modes:
  leaky-release:
    description: a code path never returns its pool connection
    env: {STANDIN_LEAK_CONNECTIONS: "0.5"}
"""


def _write(tmp_path: Path, text: str, system: str = "orders") -> Path:
    path = tmp_path / system / "standin.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_seed_system_has_a_valid_standin_yaml() -> None:
    assert set(SEEDS) <= set(known_profiles())
    for system in SEEDS:
        assert check_profile(default_scenarios_dir() / system / "standin.yaml") == []


def test_the_seed_profiles_keep_the_runbooks_own_vocabulary() -> None:
    zephyr = get_profile("zephyr-voting")
    assert zephyr.pool_vars == ("DB_POOL_MAX",)
    assert zephyr.resource.id_format == "room-code"
    assert zephyr.resource.child is not None
    assert zephyr.resource.child.cache_counter == "option"
    assert zephyr.audit
    assert get_profile("phase5-todo").pool_vars == ("DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW")
    assert get_profile("azora").ms_histograms
    assert get_profile("chat-rooms").level_case == "upper"
    assert get_profile("architect-api").correlation_key == "request_id"


def test_a_new_system_is_described_by_its_standin_yaml_alone(tmp_path: Path) -> None:
    _write(tmp_path, ORDERS)
    profile = get_profile("orders", tmp_path)
    assert profile.name == "orders"
    config = StandinConfig.from_env(profile, {**BASE, "ORDERS_DB_POOL_SIZE": "4"})
    assert config.pool_size == 4
    assert config.port == 8080
    assert profile.endpoints[0].uses == ("postgres",)
    assert profile.endpoints[0].body == {"open": 3}


def test_a_profile_can_be_named_by_the_path_of_its_file(tmp_path: Path) -> None:
    path = _write(tmp_path, ORDERS)
    assert get_profile(str(path)).service == "orders-api"


def test_a_failure_mode_sets_its_variables_unless_the_pod_sets_them(tmp_path: Path) -> None:
    _write(tmp_path, ORDERS)
    profile = get_profile("orders", tmp_path)
    env = {**BASE, "STANDIN_FAILURE_MODE": "leaky-release"}
    assert StandinConfig.from_env(profile, env).leak_connections == 0.5
    assert StandinConfig.from_env(profile, env | {"STANDIN_LEAK_CONNECTIONS": "0.1"}).leak_connections == 0.1


def test_an_unknown_failure_mode_names_the_declared_ones(tmp_path: Path) -> None:
    _write(tmp_path, ORDERS)
    with pytest.raises(UsageError, match=r"'leaky' is not a failure mode of orders.*declares: leaky-release"):
        StandinConfig.from_env(get_profile("orders", tmp_path), {**BASE, "STANDIN_FAILURE_MODE": "leaky"})


def test_metric_aliases_export_a_standard_metric_under_the_runbooks_name() -> None:
    registry = Registry()
    counter = registry.counter("http_requests_total", "HTTP requests.")
    counter.inc(status="200")
    assert registry.alias("orders_http_requests_total", "http_requests_total")
    assert not registry.alias("orders_nothing", "no_such_metric")
    text = registry.render()
    assert 'orders_http_requests_total{status="200"} 1' in text
    assert "# TYPE orders_http_requests_total counter" in text


def test_an_unknown_key_names_its_line_and_the_allowed_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, ORDERS.replace("  size_vars:", "  sise_vars:"))
    problems = [str(p) for p in check_profile(path)]
    assert f"{path}:6: unknown key 'sise_vars' in pool; allowed keys: default_size, size_vars, timeout_message" in (
        problems
    )
    assert f"{path}:6: pool is missing required key size_vars" in problems


def test_every_problem_of_a_file_is_reported_in_one_pass(tmp_path: Path) -> None:
    text = ORDERS.replace("port: 8080", "port: eighty").replace("search: [customer_id]", "search: [customer]")
    text = text.replace("db_pool_max: orders_db_pool_max", "db_pool_maximum: orders_db_pool_max")
    path = _write(tmp_path, text)
    problems = [str(p) for p in check_profile(path)]
    assert f"{path}:2: port must be an integer, got 'eighty'" in problems
    assert any(p.startswith(f"{path}:18: resource.search: 'customer' is not one of resource.fields") for p in problems)
    assert any(p.startswith(f"{path}:11: metrics.names: 'db_pool_maximum' is not a standard metric") for p in problems)


def test_a_timeout_message_with_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, ORDERS.replace("waited {timeout}ms", "waited {wait}ms"))
    with pytest.raises(ScenarioError, match=r"standin.yaml:8: pool.timeout_message may use only \{size\}"):
        load_profile(path)


def test_bad_yaml_is_a_problem_with_its_line_not_a_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "service: [unclosed\nport: 1\n")
    problems = check_profile(path)
    assert len(problems) == 1
    assert problems[0].message.startswith("not valid YAML")
    assert problems[0].line is not None


def test_an_unknown_system_lists_the_systems_with_a_standin_yaml(tmp_path: Path) -> None:
    _write(tmp_path, ORDERS)
    with pytest.raises(UsageError, match=r"unknown stand-in profile 'shop'; expected one of: orders"):
        get_profile("shop", tmp_path)
