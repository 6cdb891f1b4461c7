"""Per-run snapshots of a provisioned PostgreSQL: identity, one claim per sandbox, and a real round trip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from drillbook.platform.local.datastores import PostgresConfig, PostgresInstance
from drillbook.platform.local.datastores.postgres_entrypoint import instance_from_env
from drillbook.platform.local.datastores.snapshot import (
    READY,
    SNAPSHOT_ENV,
    claim_snapshot,
    key_from_env,
    offer_snapshots,
    snapshot_key,
    take_snapshot,
)

POD_ENV = {
    "HOSTNAME": "postgres-7d9f8c6b5-x2k4q",
    "POSTGRES_USER": "postgres",
    "POSTGRES_PASSWORD": "admin-pass",
    "POSTGRES_DB": "azora",
    "POSTGRES_NON_ROOT_USER": "azora",
    "POSTGRES_NON_ROOT_PASSWORD": "app-pass",
}


def _ready_snapshot(root: Path, key: str) -> Path:
    (root / key / "data").mkdir(parents=True)
    (root / key / READY).write_text("test\n")
    return root / key


def test_the_pod_and_the_sandbox_agree_on_the_key() -> None:
    # The sandbox knows the scenario (deployment, database, admin and app roles); the pod knows its environment.
    assert key_from_env(POD_ENV) == snapshot_key("postgres", "azora", "postgres", "azora")


def test_another_deployment_or_role_is_another_snapshot() -> None:
    other = snapshot_key("analytics-db", "azora", "postgres", "azora")
    assert key_from_env({**POD_ENV, "HOSTNAME": "analytics-db-5c4b3a2-abcde"}) == other
    assert key_from_env({**POD_ENV, "POSTGRES_NON_ROOT_USER": "reporting"}) != key_from_env(POD_ENV)


def test_a_pod_that_is_no_deployments_has_no_key() -> None:
    assert key_from_env({**POD_ENV, "HOSTNAME": "postgres"}) is None


def test_an_offered_snapshot_is_claimed_once(tmp_path: Path) -> None:
    snapshot = _ready_snapshot(tmp_path / "run", key_from_env(POD_ENV) or "")
    claims = tmp_path / "sandbox" / "claims"
    assert offer_snapshots(tmp_path / "run", claims) == 1
    env = {**POD_ENV, SNAPSHOT_ENV: str(claims)}
    assert claim_snapshot(env) == snapshot.resolve() / "data"
    # A pod that replaces the first one (a delete, a rollout) starts empty, as without snapshots.
    assert claim_snapshot(env) is None
    assert (snapshot / READY).exists()


def test_an_incomplete_snapshot_is_never_offered(tmp_path: Path) -> None:
    (tmp_path / "run" / "postgres-azora-0123").mkdir(parents=True)  # a copy still being made, or a failed one
    assert offer_snapshots(tmp_path / "run", tmp_path / "claims") == 0
    assert offer_snapshots(tmp_path / "no-such-run", tmp_path / "claims2") == 0


def test_without_an_offer_the_entrypoint_starts_from_the_empty_template(tmp_path: Path) -> None:
    instance = instance_from_env({**POD_ENV, SNAPSHOT_ENV: str(tmp_path / "claims")}, tmp_path)
    assert instance.template is None


def test_the_entrypoint_copies_the_offered_snapshot_into_a_new_data_dir(tmp_path: Path) -> None:
    snapshot = _ready_snapshot(tmp_path / "run", key_from_env(POD_ENV) or "")
    offer_snapshots(tmp_path / "run", tmp_path / "claims")
    instance = instance_from_env({**POD_ENV, SNAPSHOT_ENV: str(tmp_path / "claims")}, tmp_path / "pod")
    assert instance.template == snapshot.resolve() / "data"


def test_a_restarted_container_keeps_its_data_and_leaves_the_offer(tmp_path: Path) -> None:
    _ready_snapshot(tmp_path / "run", key_from_env(POD_ENV) or "")
    offer_snapshots(tmp_path / "run", tmp_path / "claims")
    (tmp_path / "pod" / "pgdata").mkdir(parents=True)
    instance = instance_from_env({**POD_ENV, SNAPSHOT_ENV: str(tmp_path / "claims")}, tmp_path / "pod")
    assert instance.template is None
    assert any((tmp_path / "claims").iterdir())


def _psql(instance: PostgresInstance, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env={"PATH": "/usr/bin:/bin", **instance.env()},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.live
def test_a_snapshot_of_a_running_server_starts_with_its_rows(tmp_path: Path) -> None:
    config = PostgresConfig(
        user="postgres", password="admin-pass", database="azora", app_user="azora", app_password="a"
    )
    with PostgresInstance(config, base_dir=tmp_path / "first") as first:
        _psql(first, "CREATE TABLE users (id text PRIMARY KEY, email text)")
        _psql(first, "INSERT INTO users SELECT 'seed-' || g, 'user' || g FROM generate_series(1, 50000) g")
        key = snapshot_key("postgres", "azora", "postgres", "azora")
        snapshot = take_snapshot(tmp_path / "snapshots", key, host=first.host, port=first.port,
                                 user="postgres", password="admin-pass")  # fmt: skip
        _psql(first, "INSERT INTO users VALUES ('after-the-snapshot', 'x')")
    assert take_snapshot(tmp_path / "snapshots", key, host="127.0.0.1", port=1, user="x", password="x") == snapshot
    with PostgresInstance(config, base_dir=tmp_path / "second", template=snapshot / "data") as second:
        assert _psql(second, "SELECT count(*) FROM users") == "50000"
        assert _psql(second, "SELECT rolsuper FROM pg_roles WHERE rolname = 'azora'") == "f"
        _psql(second, "INSERT INTO users VALUES ('written-in-a-drill', 'y')")
    # The drill's writes went to its own copy: the snapshot is as it was taken.
    with PostgresInstance(config, base_dir=tmp_path / "third", template=snapshot / "data") as third:
        assert _psql(third, "SELECT count(*) FROM users") == "50000"


@pytest.mark.live
def test_a_failed_snapshot_says_what_to_check(tmp_path: Path) -> None:
    from drillbook.errors import DatastoreError

    config = PostgresConfig(user="postgres", password="right")
    with (
        PostgresInstance(config, base_dir=tmp_path / "pg") as pg,
        pytest.raises(DatastoreError, match="admin_user must be the server's superuser"),
    ):
        take_snapshot(tmp_path / "snapshots", "k", host=pg.host, port=pg.port, user="postgres", password="wrong")
    assert not (tmp_path / "snapshots" / "k").exists()
