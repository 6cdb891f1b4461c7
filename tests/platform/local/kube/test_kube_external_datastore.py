"""A datastore outside the cluster (as testcontainers databases appear): a Service without a selector plus
hand-written Endpoints makes it reachable at the Service's address, as on a real cluster."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from drillbook.platform.local.datastores import IMAGES_FILE, PostgresConfig, PostgresInstance
from drillbook.platform.local.kube import LocalKubeProcess

pytestmark = pytest.mark.slow


def _kubectl(kube: LocalKubeProcess, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", *args], input=stdin, env={**os.environ, **kube.env()}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_selectorless_service_with_endpoints_reaches_an_external_postgres(tmp_path: Path) -> None:
    config = PostgresConfig(database="orders", password="secret")
    with (
        PostgresInstance(config, base_dir=tmp_path / "pg", host="127.0.0.1") as postgres,
        LocalKubeProcess(state_dir=tmp_path / "kube", images=[IMAGES_FILE]) as kube,
    ):
        manifests = [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "orders-db", "namespace": "default"},
             "spec": {"ports": [{"name": "pg", "port": 5432, "targetPort": postgres.port}]}},
            {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "orders-db", "namespace": "default"},
             "subsets": [{"addresses": [{"ip": postgres.host}], "ports": [{"name": "pg", "port": postgres.port}]}]},
        ]  # fmt: skip
        _kubectl(kube, "apply", "-f", "-", stdin=yaml.safe_dump_all(manifests))
        cluster_ip = _kubectl(kube, "get", "service", "orders-db", "-o", "jsonpath={.spec.clusterIP}")
        assert _kubectl(kube, "get", "endpoints", "orders-db", "-o", "jsonpath={.subsets[0].addresses[0].ip}") == (
            postgres.host
        )
        done = subprocess.run(
            ["psql", "-h", cluster_ip, "-p", "5432", "-U", "app", "-d", "orders", "-tAc", "select 40 + 2"],
            env={**os.environ, "PGPASSWORD": "secret"}, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.stdout.strip() == "42", done.stderr
