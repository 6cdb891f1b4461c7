"""Validate every file of one scenario folder, without provisioning anything (``drillbook check SYSTEM``).

Each file is decoded with line numbers, and the files are checked against each other: the app Deployment of
``scenario.yaml`` is in the manifests, every image the manifests run is mapped, every stand-in image names a
profile that exists, every ``drills.yaml`` override names an incident and steps the runbook has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from drillbook.errors import DrillbookError, SourceError
from drillbook.overrides import DRILLS_FILE, check_overrides, load_overrides
from drillbook.runbook.model import Runbook
from drillbook.scenario import Scenario, load_scenario
from drillbook.yamlfile import Problem, YamlFile, line_of

REQUIRED = ("runbook.md", "scenario.yaml", "manifests.yaml", "images.yaml")
_IMAGE_KEYS = {"entrypoint", "cmd", "env"}
_STANDIN = "drillbook.standin"


@dataclass(frozen=True)
class Container:
    """One container a workload of the manifests runs."""

    namespace: str
    workload: str
    name: str
    image: str
    line: int


@dataclass
class _Manifests:
    deployments: dict[tuple[str, str], list[Container]] = field(default_factory=dict)
    containers: list[Container] = field(default_factory=list)


def check_scenario(directory: Path, *, builtin_image: Callable[[str], bool] = lambda _: False) -> list[Problem]:
    """Every problem of the scenario in ``directory``, in file order (empty when it is valid).

    Args:
        directory: ``scenarios/SYSTEM``.
        builtin_image: Whether the platform provides an image itself (``postgres:15``, ``redis:7``).
    """
    problems = [
        Problem(directory / name, None, f"missing: a system needs {name} (see docs/scenario-files.md)")
        for name in REQUIRED
        if not (directory / name).is_file()
    ]
    runbook = _runbook(directory, problems)
    scenario = _scenario(directory, problems)
    manifests = _manifests(directory / "manifests.yaml", problems)
    if scenario is not None and manifests is not None:
        problems.extend(_scenario_against_manifests(scenario, manifests))
    profiles = _standin(directory, problems)
    _images(directory / "images.yaml", manifests, builtin_image, profiles, problems)
    _bindings(directory / "bindings.yaml", problems)
    _drills(directory, runbook, problems)
    return problems


def _runbook(directory: Path, problems: list[Problem]) -> Runbook | None:
    from drillbook.runbook import parse_runbook

    path = directory / "runbook.md"
    if not path.is_file():
        return None
    try:
        return parse_runbook(path)
    except SourceError as exc:
        problems.append(Problem(exc.path or path, exc.line, exc.detail))
    return None


def _scenario(directory: Path, problems: list[Problem]) -> Scenario | None:
    if not (directory / "scenario.yaml").is_file():
        return None
    try:
        return load_scenario(directory)
    except SourceError as exc:
        problems.append(Problem(exc.path or directory / "scenario.yaml", exc.line, exc.detail))
    return None


def _manifests(path: Path, problems: list[Problem]) -> _Manifests | None:
    if not path.is_file():
        return None
    try:
        documents: list[yaml.Node | None] = list(yaml.compose_all(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(Problem(path, None if mark is None else int(mark.line) + 1, f"not valid YAML: {exc}"))
        return None
    file = YamlFile(path)
    found = _Manifests()
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, yaml.MappingNode):
            file.error(document, "each manifest must be a Kubernetes object (a mapping with apiVersion and kind)")
            continue
        top = _keys(document)
        for key in ("apiVersion", "kind", "metadata"):
            if key not in top:
                file.error(document, f"this manifest has no {key!r}; every Kubernetes object needs one")
        metadata = _keys(top.get("metadata"))
        name = _scalar(metadata.get("name"))
        if "metadata" in top and not name:
            file.error(top["metadata"], "metadata.name is missing: every Kubernetes object needs a name")
        kind = _scalar(top.get("kind"))
        namespace = _scalar(metadata.get("namespace")) or "default"
        for container in _containers(file, top.get("spec"), namespace, name):
            found.containers.append(container)
            if kind == "Deployment":
                found.deployments.setdefault((namespace, name), []).append(container)
        if kind == "Deployment" and (namespace, name) not in found.deployments:
            file.error(document, f"Deployment {name!r} runs no containers (spec.template.spec.containers)")
    problems.extend(file.in_order())
    return found


def _containers(file: YamlFile, spec: yaml.Node | None, namespace: str, workload: str) -> Iterator[Container]:
    template = _keys(_keys(spec).get("template"))
    pod_spec = _keys(template.get("spec")) if template else _keys(spec)
    for key in ("initContainers", "containers"):
        node = pod_spec.get(key)
        if node is None:
            continue
        for item in file.items(node, f"{workload} {key}"):
            fields = _keys(item)
            image = _scalar(fields.get("image"))
            if not image:
                file.error(item, f"a container of {workload!r} has no image")
                continue
            yield Container(namespace, workload, _scalar(fields.get("name")), image, line_of(fields["image"]))


def _scenario_against_manifests(scenario: Scenario, manifests: _Manifests) -> list[Problem]:
    path = scenario.directory / "scenario.yaml"
    problems: list[Problem] = []
    have = ", ".join(f"{ns}/{name}" for ns, name in sorted(manifests.deployments)) or "none"
    wanted = [("app", scenario.app.namespace, scenario.app.deployment)]
    if scenario.postgres is not None:
        wanted.append(("postgres", scenario.postgres.namespace, scenario.postgres.deployment))
    if scenario.redis is not None:
        wanted.append(("redis", scenario.redis.namespace, scenario.redis.deployment))
    for role, namespace, name in wanted:
        if (namespace, name) not in manifests.deployments:
            problems.append(
                Problem(
                    path,
                    _line_of_key(path, role),
                    f"{role}: no Deployment {namespace}/{name} in manifests.yaml; it has: {have}",
                )
            )
    containers = manifests.deployments.get((scenario.app.namespace, scenario.app.deployment), [])
    if containers and scenario.app.container and scenario.app.container not in {c.name for c in containers}:
        names = ", ".join(c.name for c in containers)
        problems.append(
            Problem(
                path,
                _line_of_key(path, "app"),
                f"app.container {scenario.app.container!r} is not a container "
                f"of Deployment {scenario.app.deployment}; it has: {names}",
            )
        )
    return problems


def _standin(directory: Path, problems: list[Problem]) -> dict[str, set[str] | None]:
    """Profiles found under the scenarios folder → their failure modes (None: the profile is malformed)."""
    from drillbook.standin.profile_file import check_profile, load_profile

    found: dict[str, set[str] | None] = {}
    path = directory / "standin.yaml"
    if path.is_file():
        own = check_profile(path)
        problems.extend(own)
        found[directory.name] = None if own else set(load_profile(path).failure_modes)
    for other in sorted(directory.parent.glob("*/standin.yaml")):
        if other.parent.name not in found:
            found[other.parent.name] = None  # exists; validated by its own system's check
    return found


def _images(
    path: Path,
    manifests: _Manifests | None,
    builtin_image: Callable[[str], bool],
    profiles: dict[str, set[str] | None],
    problems: list[Problem],
) -> None:
    if not path.is_file():
        return
    file = YamlFile.read(path)
    top = file.mapping(file.root, "images.yaml", {"images"}, ("images",)) if file.root is not None else {}
    if file.root is None and not file.problems:
        file.error(None, "the file is empty; expected 'images:' mapping each image to an entrypoint")
    mapped: set[str] = set()
    for key, value in file.entries(top.get("images"), "images"):
        image = str(key.value)
        mapped.add(_normal(image))
        raw = file.mapping(value, f"image {image!r}", _IMAGE_KEYS)
        argv = [*file.strings(raw.get("entrypoint"), f"image {image!r} entrypoint")]
        argv += file.strings(raw.get("cmd"), f"image {image!r} cmd")
        if not argv and isinstance(value, yaml.MappingNode):
            file.error(value, f"image {image!r} has neither entrypoint nor cmd; say what runs for it")
        env: dict[str, tuple[str, yaml.Node]] = {}
        for var, setting in file.entries(raw.get("env"), f"image {image!r} env"):
            if not isinstance(setting, yaml.ScalarNode):
                file.error(setting, f"image {image!r} env {var.value}: expected a string value, got a collection")
                continue
            env[str(var.value)] = (str(setting.value), setting)
        if _STANDIN in argv:
            _standin_image(file, image=image, node=value, argv=argv, env=env, profiles=profiles)
    if manifests is not None:
        for container in manifests.containers:
            if _normal(container.image) not in mapped and not builtin_image(container.image):
                problems.append(
                    Problem(
                        path.with_name("manifests.yaml"),
                        container.line,
                        f"image {container.image!r} of {container.workload}/{container.name} is not in "
                        "images.yaml nor built in; map it to the stand-in (see docs/scenario-files.md)",
                    )
                )
    problems.extend(file.in_order())


def _standin_image(
    file: YamlFile,
    *,
    image: str,
    node: yaml.Node,
    argv: list[str],
    env: dict[str, tuple[str, yaml.Node]],
    profiles: dict[str, set[str] | None],
) -> None:
    profile = argv[argv.index("--profile") + 1] if "--profile" in argv[:-1] else None
    if profile is None:
        file.error(node, f"image {image!r} runs the stand-in without --profile SYSTEM; add it to cmd")
        return
    if profile.endswith((".yaml", ".yml")):
        return  # a path, resolved where the pod runs
    if profile not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        file.error(node, f"image {image!r}: --profile {profile!r} has no standin.yaml; systems with one: {known}")
        return
    modes = profiles[profile]
    if "STANDIN_FAILURE_MODE" in env and modes is not None:
        mode, where = env["STANDIN_FAILURE_MODE"]
        if mode not in modes:
            declared = ", ".join(sorted(modes)) or "none"
            file.error(
                where,
                f"image {image!r}: STANDIN_FAILURE_MODE {mode!r} is not a failure mode of "
                f"{profile}'s standin.yaml; declared: {declared}",
            )


def _bindings(path: Path, problems: list[Problem]) -> None:
    from drillbook.execute.bindings import Bindings

    if not path.is_file():
        return
    try:
        Bindings.load(path)
    except SourceError as exc:
        problems.append(Problem(exc.path or path, exc.line, exc.detail))


def _drills(directory: Path, runbook: Runbook | None, problems: list[Problem]) -> None:
    path = directory / DRILLS_FILE
    if not path.is_file():
        return
    own = check_overrides(path)
    problems.extend(own)
    if own or runbook is None:
        return
    length = len(runbook.path.read_text(encoding="utf-8", errors="replace").splitlines())
    for override in load_overrides(directory).incidents.values():
        line = int(override.where.rsplit(":", 1)[1])
        if override.lines is not None and override.lines[1] > length:
            problems.append(
                Problem(
                    path,
                    line,
                    f"incidents.{override.incident}.lines ends at line "
                    f"{override.lines[1]}, but runbook.md has {length} lines",
                )
            )
            continue
        try:
            found = runbook.incident(override.incident)
        except KeyError:
            found = None
        try:
            incident = override.apply(runbook, found)
        except DrillbookError as exc:
            problems.append(Problem(path, line, str(exc)))
            continue
        numbers = {s.number for s in incident.steps}
        shown = ", ".join(str(n) for n in sorted(numbers)) or "none"
        named = {
            "response_steps": override.response_steps or frozenset(),
            "follow_up_steps": override.follow_up_steps,
            "supplied": frozenset(override.supplied),
        }
        for key, steps in named.items():
            missing = sorted(steps - numbers)
            if missing:
                problems.append(
                    Problem(
                        path,
                        line,
                        f"incidents.{override.incident}.{key}: incident "
                        f"{incident.id} has no step {', '.join(map(str, missing))}; "
                        f"its steps are {shown}",
                    )
                )


def _keys(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): v for k, v in node.value}


def _scalar(node: yaml.Node | None) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else ""


def _normal(image: str) -> str:
    name = image.strip()
    for prefix in ("docker.io/library/", "docker.io/"):
        name = name.removeprefix(prefix)
    return name if ":" in name.rsplit("/", 1)[-1] or "@" in name else name + ":latest"


def _line_of_key(path: Path, key: str) -> int | None:
    try:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if text.startswith(f"{key}:"):
                return number
    except OSError:
        return None
    return None
