"""The images kind loads for a seed are the images ``drillbook images build --seed`` makes: every name the kind
plan loads, datastores as tags of drillbook's own images, each release on the stand-in with its failure baked in."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from drillbook.errors import SandboxError
from drillbook.platform import kind
from drillbook.platform.docker.images import IMAGES
from drillbook.platform.docker.seed_images import (
    STANDIN_BASE_TAG,
    STANDIN_PACKAGES,
    STANDIN_TAG,
    ImageBuild,
    recipe,
    seed_image_plan,
)

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
ZEPHYR = SCENARIOS / "zephyr-voting"
KINDABLE = sorted(p.name for p in SCENARIOS.iterdir() if p.name != "phase5-todo" and (p / "manifests.yaml").is_file())


def _by_name(plan: list[ImageBuild]) -> dict[str, ImageBuild]:
    return {image.name: image for image in plan}


def _directive(dockerfile: str, word: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in dockerfile.splitlines() if line.startswith(f"{word} ")]


@pytest.mark.parametrize("system", KINDABLE)
def test_every_image_the_kind_plan_loads_is_one_images_build_makes(system: str) -> None:
    seed = SCENARIOS / system
    plan = kind.kind_plan(
        "c",
        Path("kubeconfig"),
        kind.images_to_load(seed / "manifests.yaml", seed / "images.yaml"),
        seed / "manifests.yaml",
        kind.scenario_deployments(seed / "manifests.yaml"),
    )
    loaded = [step.argv[3] for step in plan if step.action == "load"]
    built = [image.name for image in seed_image_plan(seed)]
    assert built[:2] == [STANDIN_BASE_TAG, STANDIN_TAG]
    assert built[2:] == loaded
    images_step = next(step for step in plan if step.action == "images")
    assert images_step.argv == ("drillbook", "images", "build", "--seed", str(seed))


def test_the_datastores_are_tags_of_drillbooks_own_datastore_images() -> None:
    plan = _by_name(seed_image_plan(ZEPHYR))
    assert plan["postgres:15"].command() == ("docker", "tag", IMAGES["postgres"].tag, "postgres:15")
    assert plan["redis:7"].command() == ("docker", "tag", IMAGES["redis"].tag, "redis:7")


def test_each_release_is_the_stand_in_with_the_image_maps_entrypoint_cmd_and_env_baked_in() -> None:
    plan = _by_name(seed_image_plan(ZEPHYR))
    bad = plan["zephyr/backend:2.2"]
    assert bad.how == "build"
    assert _directive(bad.dockerfile, "FROM") == [STANDIN_TAG]
    assert 'STANDIN_ERROR_RATE="0.3"' in _directive(bad.dockerfile, "ENV")
    assert 'APP_VERSION="2.2"' in _directive(bad.dockerfile, "ENV")
    assert json.loads(_directive(bad.dockerfile, "ENTRYPOINT")[0]) == ["python", "-m", "drillbook.standin"]
    assert json.loads(_directive(bad.dockerfile, "CMD")[0]) == ["--profile", "zephyr-voting"]
    crash = plan["zephyr/backend:2.1"]
    assert 'STANDIN_REQUIRED_ENV="FEATURE_FLAGS_URL"' in _directive(crash.dockerfile, "ENV")
    good = plan["zephyr/backend:2.0"]
    assert not [e for e in _directive(good.dockerfile, "ENV") if e.startswith("STANDIN_")]


def test_the_stand_in_base_holds_what_the_stand_in_imports_from_debian_packages() -> None:
    import ast

    standin = Path(__file__).resolve().parents[3] / "src" / "drillbook" / "standin"
    imported = set()
    for path in standin.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    import sys

    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "drillbook"}
    debian = {"aiohttp": "python3-aiohttp", "asyncpg": "python3-asyncpg", "psutil": "python3-psutil"}
    debian |= {"redis": "python3-redis", "yaml": "python3-yaml"}
    missing = {name for name in third_party if debian.get(name) not in STANDIN_PACKAGES}
    assert not missing, f"the stand-in imports {missing}: add their Debian packages to STANDIN_PACKAGES"


def test_a_changed_image_map_entry_changes_the_recipe_and_so_is_rebuilt() -> None:
    plan = _by_name(seed_image_plan(ZEPHYR))
    first, second = plan["zephyr/backend:2.2"], plan["zephyr/backend:2.3"]
    assert recipe(first) != recipe(second)
    assert recipe(first) == recipe(_by_name(seed_image_plan(ZEPHYR))["zephyr/backend:2.2"])


def test_a_seed_whose_image_names_docker_cannot_hold_is_refused_naming_the_image_and_what_to_do() -> None:
    with pytest.raises(SandboxError, match=r"'YOUR_REGISTRY/todo-app-backend:v1.9' cannot be a docker image") as err:
        seed_image_plan(SCENARIOS / "phase5-todo")
    assert "drill this seed on the local or docker platform" in str(err.value)


def test_the_kind_provider_refuses_such_a_seed_before_it_creates_a_cluster(tmp_path: Path) -> None:
    calls: list[str] = []
    factory = kind.provider(SCENARIOS, tmp_path, runner=lambda argv: calls.append(shlex.join(argv)) or "")
    with pytest.raises(SandboxError, match="cannot be a docker image"):
        factory("phase5-todo")
    assert calls == []
