"""Bindings files are read strictly, and rewrite a runbook's names into the sandbox's loopback addresses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drillbook.errors import ScenarioError
from drillbook.execute import Bindings, Resolver

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

BINDINGS = """\
urls:
  https://api.example.com: {service: api, namespace: prod}
hosts:
  postgres: {service: postgres, namespace: prod, port: 5432}
placeholders:
  <pod>: {pod: app=api, namespace: prod}
  $DB_URL: {env: DATABASE_URL}
unbound:
  http://localhost:9090: Prometheus is not part of the sandbox
"""


@pytest.fixture
def resolver(tmp_path: Path, view: object) -> Resolver:
    path = tmp_path / "bindings.yaml"
    path.write_text(BINDINGS)
    return Resolver(Bindings.load(path), view)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "as_run"),
    [
        ("curl https://api.example.com/health", "curl http://127.20.0.9:8080/health"),
        ("curl 'https://api.example.com'", "curl 'http://127.20.0.9:8080'"),
        ("curl https://api.example.com.evil.net/x", "curl https://api.example.com.evil.net/x"),
        ("psql -h postgres -U app", "psql -h 127.20.0.9 -U app"),
        ("pg_isready -hpostgres", "pg_isready -h127.20.0.9"),
        ("psql 'host=postgres dbname=app'", "psql 'host=127.20.0.9 dbname=app'"),
        ("psql postgresql://app:pw@postgres:5432/app", "psql postgresql://app:pw@127.20.0.9:5432/app"),
        ("kubectl get pods -l app=postgres", "kubectl get pods -l app=postgres"),
        ("kubectl logs <pod> -n prod", "kubectl logs api-6d4b7c9f8-x2kq7 -n prod"),
        ("psql $DB_URL -c 'select 1'", "psql $DB_URL -c 'select 1'"),
    ],
)
def test_names_are_rewritten_only_where_they_name_the_bound_thing(
    resolver: Resolver, written: str, as_run: str
) -> None:
    rewrite = resolver.rewrite(written, ("<pod>",) if "<pod>" in written else ())
    assert (rewrite.as_written, rewrite.as_run) == (written, as_run)


def test_a_bound_variable_is_provided_in_the_environment_not_the_text(resolver: Resolver) -> None:
    assert resolver.environment() == {"DB_URL": "postgresql://u:p@127.20.0.1:5432/db"}


def test_an_unbound_url_is_reported_with_its_reason(resolver: Resolver) -> None:
    rewrite = resolver.rewrite("curl -s http://localhost:9090/api/v1/query", ())
    assert rewrite.unresolved == ("http://localhost:9090 (Prometheus is not part of the sandbox)",)


def test_a_placeholder_nothing_binds_is_left_and_reported(resolver: Resolver) -> None:
    rewrite = resolver.rewrite("kubectl logs <other-pod>", ("<other-pod>",))
    assert rewrite.as_run == "kubectl logs <other-pod>"
    assert rewrite.unresolved == ("<other-pod>",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("urls: {}\nplacehodlers: {}\n", r"bindings.yaml:2: unknown key 'placehodlers'; allowed keys: hosts, "),
        ("placeholders:\n  <pod>: {pod: app=x, namspace: y}\n", r"bindings.yaml:2: unknown key 'namspace'"),
        ("placeholders:\n  <pod>: {pod: app=x, value: y}\n", r"bindings.yaml:2: each binding needs exactly one of"),
        ("hosts:\n  pg: {service: pg}\n  pg: {service: pg2}\n", r"bindings.yaml:3: 'pg' is bound twice"),
        ("urls:\n  - https://x\n", r"bindings.yaml:2: expected a mapping \(name: binding\), got a list"),
        ("hosts:\n  pg: {service: pg, port: http}\n", r"bindings.yaml:2: 'port' must be an integer, got 'http'"),
        ("unbound:\n  http://x: ''\n", r"bindings.yaml:2: an unbound URL needs a reason"),
        ("urls: [\n", r"bindings.yaml:2: not valid YAML"),
    ],
)
def test_a_bad_bindings_file_names_file_line_and_what_to_do(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bindings.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        Bindings.load(path)


@pytest.mark.parametrize("system", ["azora", "zephyr-voting", "chat-rooms", "phase5-todo", "architect-api"])
def test_every_seed_system_has_a_valid_bindings_file(system: str) -> None:
    bindings = Bindings.load(SCENARIOS / system / "bindings.yaml")
    assert bindings.path is not None
    assert bindings.urls or bindings.placeholders


@pytest.mark.parametrize(
    ("yaml_text", "line", "host"),
    [
        ("urls:\n  https://api.example.com: {value: 'https://api.prod.example.com'}\n", 2, "api.prod.example.com"),
        ("hosts:\n  postgres: {value: db.prod.internal}\n", 2, "db.prod.internal"),
        ("placeholders:\n  <DB_HOST>: {value: 10.0.3.7}\n", 2, "10.0.3.7"),
        ("placeholders:\n  x: {value: zephyr}\n  <REDIS_URL>: {value: 'redis://cache.prod:6379/0'}\n", 3, "cache.prod"),
    ],
)
def test_a_binding_to_a_host_outside_the_sandbox_is_refused_at_load(
    tmp_path: Path, yaml_text: str, line: int, host: str
) -> None:
    path = tmp_path / "bindings.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ScenarioError, match=f"whose host {re.escape(host)} is outside the sandbox") as caught:
        Bindings.load(path)
    assert f"{path}:{line}" in str(caught.value)


def test_loopback_and_plain_values_are_still_bindable(tmp_path: Path) -> None:
    path = tmp_path / "bindings.yaml"
    path.write_text(
        "placeholders:\n  <DB_USER>: {value: zephyr}\n  <DB_HOST>: {value: 127.0.0.1}\n"
        "  <service-name>: {value: api-gateway}\nhosts:\n  cache: {value: '[::1]:6379'}\n"
    )
    assert len(Bindings.load(path).placeholders) == 3
