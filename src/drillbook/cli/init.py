"""``drillbook init SYSTEM --runbook PATH``: scaffold a system's scenario and drills from its runbook.

Writes ``scenarios/SYSTEM/`` (the runbook byte for byte, manifests, image map, stand-in profile, scenario,
bindings and, for a one-incident page, ``drills.yaml``) and ``features/SYSTEM.feature`` with one drill per
incident that has a command changing the system. Prints every guess it made with the file and line to edit.
"""

from __future__ import annotations

import argparse
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from drillbook.cli import _scaffold as scaffold
from drillbook.cli._facts import Decision, SystemFacts, read_facts, relative
from drillbook.cli.parse import emit
from drillbook.errors import UsageError
from drillbook.runbook import Incident, Runbook, parse_runbook
from drillbook.runbook.sections import slug

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``init`` subcommand."""
    parser = subparsers.add_parser(
        "init",
        help="scaffold scenarios/SYSTEM/ and features/SYSTEM.feature from a runbook",
        description="Read a runbook (incidents, namespace, deployments, ports, env vars, datastores, metric names, "
        "URLs, placeholders) and write a scenario that provisions as it is, and one drill per incident with a "
        "command that changes the system, with the fault its symptoms suggest. Prints what it could not decide, "
        "each with the line to edit. Then: drillbook gameday features/SYSTEM.feature.",
    )
    parser.add_argument("system", help="the system's name: lower case, digits and hyphens (the scenario folder)")
    parser.add_argument("--runbook", required=True, help="the runbook markdown file (copied byte for byte)")
    parser.add_argument("--manifests", default=None, help="a directory of the real system's YAML (kubectl get -o yaml)")
    parser.add_argument("--scenarios", default="scenarios", help="scenario directory (default: scenarios)")
    parser.add_argument("--features", default="features", help="feature directory (default: features)")
    parser.add_argument("--force", action="store_true", help="overwrite files a previous init wrote")
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class Written:
    """One file written, relative to the current directory."""

    path: Path
    text: str

    def line_of(self, needle: str) -> int:
        """The first line holding ``needle`` (1 when none does)."""
        return next((n for n, line in enumerate(self.text.splitlines(), start=1) if needle in line), 1)


def run(args: argparse.Namespace) -> int:
    """Write the scaffold and print what was decided and what to check."""
    system = str(args.system)
    if not _NAME.match(system):
        raise UsageError(f"system name {system!r}: use lower case letters, digits and hyphens (orders-api)")
    source = Path(args.runbook)
    if not source.is_file():
        raise UsageError(f"no runbook at {source}: pass the markdown file with --runbook PATH")
    scenario_dir = Path(args.scenarios) / system
    feature_path = Path(args.features) / f"{system.replace('-', '_')}.feature"
    existing = [p for p in (scenario_dir, feature_path) if p.exists()]
    if existing and not args.force:
        raise UsageError(
            f"{', '.join(map(str, existing))} already exist: pass --force to overwrite, or choose another SYSTEM"
        )
    scenario_dir.mkdir(parents=True, exist_ok=True)
    copy = scenario_dir / "runbook.md"
    shutil.copyfile(source, copy)  # byte for byte: the team's document is never edited
    runbook = parse_runbook(copy)
    text = copy.read_text(encoding="utf-8", errors="replace")
    runbook, whole = _one_incident_page(runbook, text)
    facts = read_facts(system, runbook, text)
    if args.manifests:
        facts = _from_manifests(facts, Path(args.manifests))
    drills, skipped = _drills(runbook)
    runbook_rel = relative(copy, Path.cwd())
    files = [
        Written(scenario_dir / "manifests.yaml", scaffold.manifests(facts)),
        Written(scenario_dir / "images.yaml", scaffold.images(facts, Path(args.scenarios))),
        Written(scenario_dir / "standin.yaml", scaffold.standin(facts)),
        Written(scenario_dir / "scenario.yaml", scaffold.scenario(facts)),
        Written(scenario_dir / "bindings.yaml", scaffold.bindings(facts)),
        Written(feature_path, scaffold.feature(facts, runbook_rel, drills)),
    ]
    if (overrides := scaffold.drills_yaml(whole)) is not None:
        files.append(Written(scenario_dir / "drills.yaml", overrides))
    feature_path.parent.mkdir(parents=True, exist_ok=True)
    if not any(feature_path.parent.glob("test_*.py")):
        files.append(Written(feature_path.parent / "test_drills.py", _TEST_MODULE))
    for file in files:
        file.path.write_text(file.text, encoding="utf-8")
    _report(facts, files, drills=drills, skipped=skipped, runbook_rel=runbook_rel, feature_path=feature_path)
    return 0


_TEST_MODULE = '''"""Every scenario of this directory's .feature files is one drill (written by drillbook init)."""

from pytest_bdd import scenarios

scenarios(".")
'''


def _one_incident_page(runbook: Runbook, text: str) -> tuple[Runbook, tuple[str, int, int, str] | None]:
    """A page the parser finds no incident in (an alert page) is one incident: read from all its lines."""
    if runbook.incidents:
        return runbook, None
    from drillbook.runbook.ranges import incident_from_lines

    last = max(1, len(text.splitlines()))
    ident = _alert_name(runbook.title) or slug(runbook.title) or "incident"
    incident = incident_from_lines(runbook, 1, last, incident_id=ident, title=runbook.title)
    return replace(runbook, incidents=(incident,)), (ident, 1, last, runbook.title)


def _alert_name(title: str) -> str | None:
    match = re.search(r"\b([A-Z][a-z]+(?:[A-Z][a-z0-9]*)+)\b", title)
    return match.group(1) if match else None


def _drills(runbook: Runbook) -> tuple[list[tuple[Incident, scaffold.FaultChoice]], list[Incident]]:
    drills: list[tuple[Incident, scaffold.FaultChoice]] = []
    skipped: list[Incident] = []
    for incident in runbook.incidents:
        if scaffold.drillable(incident):
            drills.append((incident, scaffold.choose_fault(incident)))
        else:
            skipped.append(incident)
    return drills, skipped


def _from_manifests(facts: SystemFacts, directory: Path) -> SystemFacts:
    """Namespace, app, port and env var names from the real system's YAML, where the runbook left them open."""
    if not directory.is_dir():
        raise UsageError(f"--manifests {directory}: not a directory of YAML files")
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"{path}: not readable YAML ({exc}); pass a kubectl get -o yaml dump") from exc
        for doc in _objects(documents):
            if doc.get("kind") != "Deployment" or _datastore(str(doc.get("metadata", {}).get("name", ""))):
                continue
            meta = doc.get("metadata", {})
            container = (doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}])[0]
            env = [str(e.get("name")) for e in container.get("env") or [] if isinstance(e, dict)]
            ports = [p.get("containerPort") for p in container.get("ports") or [] if isinstance(p, dict)]
            pool = next((n for n in env if "POOL" in n), facts.pool_var)
            where = f"{path} (Deployment {meta.get('name')})"
            decisions = [d for d in facts.decisions if d.what not in {"namespace", "app Deployment"}]
            decisions += [
                Decision("namespace", str(meta.get("namespace", facts.namespace)), 0, True, f"from {where}"),
                Decision("app Deployment", str(meta.get("name", facts.app)), 0, True, f"from {where}"),
            ]
            return replace(
                facts,
                namespace=str(meta.get("namespace", facts.namespace)),
                app=str(meta.get("name", facts.app)),
                port=int(ports[0]) if ports and isinstance(ports[0], int) else facts.port,
                pool_var=pool,
                env_vars=sorted({*facts.env_vars, *env}),
                decisions=decisions,
            )
    return facts


def _objects(documents: list[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for doc in documents:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            found.extend(i for i in doc.get("items") or [] if isinstance(i, dict))
        elif isinstance(doc, dict):
            found.append(doc)
    return found


def _datastore(name: str) -> bool:
    return any(word in name for word in ("postgres", "redis", "mysql", "mongo"))


def _report(
    facts: SystemFacts,
    files: list[Written],
    *,
    drills: list[tuple[Incident, scaffold.FaultChoice]],
    skipped: list[Incident],
    runbook_rel: str,
    feature_path: Path,
) -> None:
    by_name = {f.path.name: f for f in files}
    emit(f"drillbook init: {facts.system} from {runbook_rel}")
    for file in files:
        emit(f"  wrote {file.path}")
    emit(f"  {len(drills)} drill(s) in {feature_path}:")
    feature = next(f for f in files if f.path == feature_path)
    for incident, choice in drills:
        emit(f"    {incident.id}: {choice.fault} ({choice.because})")
    undecided: list[str] = []
    guesses = {"namespace": "scenario.yaml", "app Deployment": "scenario.yaml", "pool size variable": "standin.yaml"}
    needles = {"namespace": "namespace:", "app Deployment": "deployment:", "pool size variable": "size_vars"}
    for decision in facts.decisions:
        if not decision.sure:
            file = by_name[guesses[decision.what]]
            undecided.append(
                f"{file.path}:{file.line_of(needles[decision.what])}: {decision.what} {decision.value!r} is a guess "
                f"({decision.why}); edit it if the real one differs"
            )
    for incident, choice in drills:
        if not choice.sure:
            undecided.append(
                f"{feature_path}:{feature.line_of(f'Scenario: {incident.id} ')}: the fault of {incident.id} is a guess "
                f"({choice.because}); choose one with drillbook list --faults"
            )
    for incident in skipped:
        undecided.append(
            f"{runbook_rel}:{incident.line}: {incident.id} has no command that changes the system: no drill written "
            "(supply one in drills.yaml under supplied, then add a scenario)"
        )
    if "<" in by_name["bindings.yaml"].text and "# <" in by_name["bindings.yaml"].text:
        bindings = by_name["bindings.yaml"]
        undecided.append(f"{bindings.path}:{bindings.line_of('# <')}: placeholders left unbound (see the comments)")
    if undecided:
        emit("  not decided (edit these lines if the guess is wrong):")
        for line in undecided:
            emit(f"    {line}")
    emit(f"next: drillbook check {facts.system}; drillbook gameday {feature_path}")
