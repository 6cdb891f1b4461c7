"""``drillbook init`` scaffolds a system from a runbook: every file reads back with drillbook's own strict loaders,
one drill per incident with an action, and each guess is printed with the line to edit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drillbook.cli import main
from drillbook.execute.bindings import Bindings
from drillbook.overrides import load_overrides
from drillbook.platform.local.kube.kubelet.images import ImageMap
from drillbook.scenario import load_scenario
from drillbook.standin.profiles import get_profile

POOL = """\
# Orders API: Database Connection Pool Exhaustion

**Time to Resolve**: 15 minutes

## Symptoms

- Logs show `timeout acquiring connection from pool`; `orders_db_pool_waiting` stays above 0

## Diagnosis

```bash
kubectl logs deployment/orders-api -n shop --tail=50 | grep -i pool
```

## Resolution

### Option 1: Restart

```bash
kubectl rollout restart deployment/orders-api -n shop
```

### Option 2: Raise the pool size

```bash
kubectl set env deployment/orders-api -n shop DB_POOL_SIZE=30
```
"""

ALERT = """\
# Alert: CatalogHighErrorRate

## Meaning

More than 5% of the requests to catalog-web returned a 5xx status. Time to resolve: 10 minutes.

## Mitigation

Roll back with `kubectl rollout undo deployment/catalog-web -n catalog`.
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_a_scenario_every_loader_accepts_in_the_runbooks_own_names(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "rb.md").write_text(POOL)
    assert main(["init", "orders", "--runbook", "rb.md"]) == 0
    out = capsys.readouterr().out
    system = project / "scenarios" / "orders"
    assert (system / "runbook.md").read_bytes() == (project / "rb.md").read_bytes()
    scenario = load_scenario(system)
    assert (scenario.app.namespace, scenario.app.deployment, scenario.app.port) == ("shop", "orders-api", 8080)
    assert scenario.postgres is not None
    assert scenario.postgres.user != scenario.postgres.admin_user  # the app's role is not the superuser
    profile = get_profile("orders", project / "scenarios")
    assert profile.pool_vars == ("DB_POOL_SIZE",)
    assert dict(profile.metric_names)["db_pool_waiting"] == "orders_db_pool_waiting"
    images = ImageMap.load(system / "images.yaml")
    assert images.resolve("orders/orders-api:1.0.0") is not None
    Bindings.load(system / "bindings.yaml")
    kinds = [d["kind"] for d in yaml.safe_load_all((system / "manifests.yaml").read_text()) if d]
    assert kinds.count("Deployment") == 3
    feature = (project / "features" / "orders.feature").read_text()
    assert 'When the "connection-leak" fault is injected with share "0.02"' in feature
    assert 'When the operator follows incident "orders-api-database-connection-pool-exhaustion"' in feature
    assert (project / "features" / "test_drills.py").is_file()
    assert "orders-api-database-connection-pool-exhaustion: connection-leak" in out


def test_an_alert_page_with_no_incident_heading_is_read_from_its_lines(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "alert.md").write_text(ALERT)
    assert main(["init", "catalog", "--runbook", "alert.md"]) == 0
    out = capsys.readouterr().out
    override = load_overrides(project / "scenarios" / "catalog").for_incident("CatalogHighErrorRate")
    assert override is not None
    assert override.lines == (1, 9)
    feature = (project / "features" / "catalog.feature").read_text()
    assert 'When the "bad-release" fault is injected with tag "1.0.1"' in feature
    # the pool variable is not in the runbook: a guess, printed with the line to edit
    assert "scenarios/catalog/standin.yaml:7: pool size variable 'DB_POOL_SIZE' is a guess" in out


def test_init_refuses_to_overwrite_and_names_what_exists(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "rb.md").write_text(POOL)
    assert main(["init", "orders", "--runbook", "rb.md"]) == 0
    assert main(["init", "orders", "--runbook", "rb.md"]) == 2
    assert "already exist: pass --force" in capsys.readouterr().err
    assert main(["init", "orders", "--runbook", "rb.md", "--force"]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["init", "Orders_API", "--runbook", "rb.md"], "use lower case letters, digits and hyphens"),
        (["init", "orders", "--runbook", "missing.md"], "no runbook at missing.md"),
    ],
)
def test_bad_input_is_an_error_naming_what_to_do_not_a_traceback(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    (project / "rb.md").write_text(POOL)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_the_real_systems_yaml_names_the_namespace_app_port_and_pool_variable(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "rb.md").write_text(ALERT.replace(" -n catalog", ""))  # the runbook names no namespace
    dump = project / "dump"
    dump.mkdir()
    (dump / "all.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: catalog-web, namespace: shop-catalog}\n"
        "  spec:\n    template:\n      spec:\n        containers:\n        - name: web\n          image: x\n"
        "          ports: [{containerPort: 3000}]\n          env: [{name: PG_POOL_MAX, value: '20'}]\n"
        "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: postgres, namespace: shop-catalog}\n"
    )
    assert main(["init", "catalog", "--runbook", "rb.md", "--manifests", str(dump)]) == 0
    scenario = load_scenario(project / "scenarios" / "catalog")
    assert (scenario.app.namespace, scenario.app.deployment, scenario.app.port) == ("shop-catalog", "catalog-web", 3000)
    assert get_profile("catalog", project / "scenarios").pool_vars == ("PG_POOL_MAX",)
    assert "namespace 'catalog' is a guess" not in capsys.readouterr().out  # the dump decided it
