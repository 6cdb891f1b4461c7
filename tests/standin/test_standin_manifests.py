"""Each seed system's manifests.yaml and images.yaml: valid Kubernetes objects, the runbook's names, a stand-in
that would start with exactly the environment the pod gets, and bad releases that really fail."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from drillbook.scenario import load_scenario
from drillbook.standin.config import MissingConfigError, StandinConfig
from drillbook.standin.profiles import get_profile
from drillbook.standin.routes import HEALTH_PATHS, LIVE_PATHS, READY_PATHS

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DATASTORE_IMAGES = {"postgres:15", "redis:7"}
# (namespace, deployment, container) as each runbook names them.
RUNBOOK_NAMES = {
    "zephyr-voting": ("default", "zephyr-backend", "zephyr-backend"),
    "azora": ("production", "api-gateway", "api-gateway"),
    "chat-rooms": ("production", "chat-rooms-api", "chat-rooms-api"),
    "phase5-todo": ("phase-5", "backend", "backend"),
    "architect-api": ("architect-production", "architect-api", "architect-api"),
}
NAMESPACED = {"Deployment", "Service", "ConfigMap", "Secret"}
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _docs(system: str) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((SCENARIOS / system / "manifests.yaml").read_text()) if d is not None]
    assert docs, f"{system}/manifests.yaml has no objects"
    return docs


def _images(system: str) -> dict[str, Any]:
    data = yaml.safe_load((SCENARIOS / system / "images.yaml").read_text())
    images: dict[str, Any] = data["images"]
    return images


def _by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _app_deployment(system: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    _, name, _ = RUNBOOK_NAMES[system]
    return next(d for d in _by_kind(docs, "Deployment") if d["metadata"]["name"] == name)


def _service_env(services: list[dict[str, Any]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for i, svc in enumerate(services, start=2):
        prefix = svc["metadata"]["name"].upper().replace("-", "_")
        env[f"{prefix}_SERVICE_HOST"] = f"127.20.0.{i}"
        env[f"{prefix}_SERVICE_PORT"] = str(svc["spec"]["ports"][0]["port"])
    return env


def pod_env(docs: list[dict[str, Any]], deployment: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    """The environment Kubernetes would give ``container``, with every reference checked on the way."""
    ns = deployment["metadata"]["namespace"]
    index = docs.index(deployment)
    # Service links only exist for Services created before the pod: earlier documents in the file.
    env = _service_env([d for d in docs[:index] if d["kind"] == "Service" and d["metadata"]["namespace"] == ns])
    env["POD_IP"] = "127.10.0.2"
    objects = {(d["kind"], d["metadata"]["name"]): d for d in docs if d["kind"] in ("ConfigMap", "Secret")}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        assert ("ConfigMap", ref) in objects, f"envFrom names missing ConfigMap {ref}"
        env.update(objects[("ConfigMap", ref)]["data"])
    for var in container.get("env", []):
        if "valueFrom" in var:
            source = var["valueFrom"]
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                secret = objects[("Secret", ref["name"])]
                assert ref["key"] in secret["stringData"], f"secret {ref['name']} lacks key {ref['key']}"
                env[var["name"]] = secret["stringData"][ref["key"]]
            elif "fieldRef" in source:
                env[var["name"]] = "127.10.0.2" if source["fieldRef"]["fieldPath"] == "status.podIP" else "pod-0"
            elif "resourceFieldRef" in source:
                env[var["name"]] = container["resources"]["limits"]["memory"]
            continue
        value = var["value"]
        missing = [name for name in _VAR.findall(value) if name not in env]
        assert not missing, f"{var['name']} expands {missing}, not defined before it (Kubernetes leaves them literal)"
        env[var["name"]] = _VAR.sub(lambda m: env[m.group(1)], value)
    return env


@pytest.mark.parametrize("system", sorted(RUNBOOK_NAMES))
def test_every_object_has_the_fields_kubernetes_requires(system: str) -> None:
    docs = _docs(system)
    namespaces = {d["metadata"]["name"] for d in _by_kind(docs, "Namespace")} | {"default"}
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= doc.keys()
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
        if doc["kind"] in NAMESPACED:
            assert doc["metadata"]["namespace"] in namespaces
    for dep in _by_kind(docs, "Deployment"):
        spec, template = dep["spec"], dep["spec"]["template"]
        assert spec["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
        for container in template["spec"]["containers"]:
            assert container["name"]
            assert container["image"]
    for svc in _by_kind(docs, "Service"):
        selected = [
            d
            for d in _by_kind(docs, "Deployment")
            if svc["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert selected, f"Service {svc['metadata']['name']} selects no Deployment"
        port_names = {
            p.get("name") for d in selected for c in d["spec"]["template"]["spec"]["containers"] for p in c["ports"]
        }
        port_numbers = {
            p["containerPort"]
            for d in selected
            for c in d["spec"]["template"]["spec"]["containers"]
            for p in c["ports"]
        }
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names | port_numbers


@pytest.mark.parametrize("system", sorted(RUNBOOK_NAMES))
def test_names_are_the_runbooks_own(system: str) -> None:
    namespace, deployment, container = RUNBOOK_NAMES[system]
    runbook = (SCENARIOS / system / "runbook.md").read_text(encoding="utf-8", errors="replace")
    assert f"deployment/{deployment}" in runbook or f"deployment {deployment}" in runbook
    if namespace != "default":
        assert f"-n {namespace}" in runbook
    docs = _docs(system)
    app = _app_deployment(system, docs)
    assert app["metadata"]["namespace"] == namespace
    assert app["spec"]["template"]["metadata"]["labels"]["app"] == deployment
    assert [c["name"] for c in app["spec"]["template"]["spec"]["containers"]] == [container]
    datastores = {d["metadata"]["name"] for d in _by_kind(docs, "Deployment")} - {deployment}
    assert datastores == {"postgres", "redis"}


@pytest.mark.parametrize("system", sorted(RUNBOOK_NAMES))
def test_probes_hit_endpoints_the_stand_in_serves(system: str) -> None:
    container = _app_deployment(system, _docs(system))["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] in READY_PATHS
    assert container["livenessProbe"]["httpGet"]["path"] in LIVE_PATHS
    assert set(HEALTH_PATHS) & {"/api/health", "/health"}


@pytest.mark.parametrize("system", sorted(RUNBOOK_NAMES))
def test_every_image_is_mapped_to_the_systems_stand_in(system: str) -> None:
    docs, images = _docs(system), _images(system)
    used = {c["image"] for d in _by_kind(docs, "Deployment") for c in d["spec"]["template"]["spec"]["containers"]}
    assert used - DATASTORE_IMAGES <= images.keys()
    for spec in images.values():
        assert spec["entrypoint"] == ["python", "-m", "drillbook.standin"]
        assert spec["cmd"] == ["--profile", system]
        assert all(isinstance(v, str) for v in spec["env"].values())


@pytest.mark.parametrize("system", sorted(RUNBOOK_NAMES))
def test_the_pod_environment_starts_good_releases_and_crashes_bad_ones(system: str) -> None:
    docs, images = _docs(system), _images(system)
    app = _app_deployment(system, docs)
    container = app["spec"]["template"]["spec"]["containers"][0]
    env = pod_env(docs, app, container)
    profile = get_profile(system)
    crashing = []
    for image, spec in images.items():
        try:
            config = StandinConfig.from_env(profile, {**spec["env"], **env})
        except MissingConfigError:
            crashing.append(image)
            continue
        assert config.host == "127.10.0.2"
        assert "127.20.0." in config.database_url
        assert config.redis_url.startswith("redis://127.20.0.")
        assert config.heap_limit_mb == 512
    assert container["image"] not in crashing
    assert len(crashing) == 1, "one bad release that crashloops for the rollback drills"


@pytest.mark.parametrize("system", sorted(RUNBOOK_NAMES))
def test_the_scenarios_roles_are_the_ones_the_postgres_pod_creates(system: str) -> None:
    pg = load_scenario(SCENARIOS / system).postgres
    assert pg is not None
    docs = _docs(system)
    postgres = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == pg.deployment)
    env = {e["name"]: e for e in postgres["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["POSTGRES_USER"]["value"] == pg.admin_user, "the operator's role is the image's superuser"
    if pg.user != pg.admin_user:
        # The app's own role: not a superuser, so a leak running as the app leaves the reserved slots to the DBA.
        assert env["POSTGRES_NON_ROOT_USER"]["value"] == pg.user
    secrets = {d["metadata"]["name"]: d.get("stringData", {}) for d in docs if d["kind"] == "Secret"}
    ref = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert secrets[ref["name"]][ref["key"]] == pg.admin_password
