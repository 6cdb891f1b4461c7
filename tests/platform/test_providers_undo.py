"""Every undo of the k3s, existing and kind bring-ups, tested by injecting a failure after each action: the error
reaches the caller, exactly the undos of the actions that ran run in reverse, nothing later runs, the journal
shows each undone, and on an existing cluster only what the drill created is deleted."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from provider_kubeconfig import kubeconfig_text

from drillbook.errors import ClusterError, SandboxError
from drillbook.platform import existing, k3s, kind
from drillbook.platform.bringup import FILE, ActionEvent, BringUpEvent, BringUpJournal, pending_undos
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.prometheus import PrometheusAction, PrometheusContext
from drillbook.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FAKE_URL = "http://127.0.0.1:1"


class LoggedPrometheus(PrometheusAction):
    """Starts nothing; logs its bring-up and its stop."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    @property
    def url(self) -> str:
        return FAKE_URL

    def up(self, context: PrometheusContext) -> PrometheusAction:
        self.log.append("prometheus up")
        return self

    def down(self) -> None:
        self.log.append("prometheus down")


def logged_sandbox(log: list[str]) -> type[KubeSandbox]:
    """A sandbox type that runs no kubectl and logs what it is asked to do."""

    class Logged(KubeSandbox):
        def apply(self) -> None:
            log.append("apply")

        def wait_available(self) -> None:
            log.append("wait")

        def release(self) -> None:
            log.append("release")
            super().release()

    return Logged


def fail_after(name: str) -> Callable[[str], None]:
    def hook(finished: str) -> None:
        if finished == name:
            raise ClusterError(f"injected failure after {finished}")

    return hook


def journal(run_dir: Path) -> list[BringUpEvent]:
    (path,) = run_dir.glob(f"sandboxes/*/{FILE}")
    return BringUpJournal(path).read()


def expect_undone_in_reverse(
    error: pytest.ExceptionInfo[SandboxError],
    events: list[BringUpEvent],
    done: list[str],
    undoable: Sequence[str],
    replays: Mapping[str, str],
) -> None:
    """The journal shows the actions that ran finished, each undoable one ``undone`` in reverse, no undo failed and
    nothing left for ``drillbook cleanup``; the error's note says what was undone."""
    __tracebackhide__ = True
    said = [(e.event, e.action) for e in events]
    assert [a for e, a in said if e is ActionEvent.FINISHED] == done, "no action after the failure ran"
    assert [a for e, a in said if e is ActionEvent.UNDONE] == [a for a in reversed(done) if a in undoable]
    assert not [a for e, a in said if e in (ActionEvent.UNDO_FAILED, ActionEvent.FAILED)]
    assert all(undo is None for _, undo, _ in pending_undos(events)), "nothing is left for cleanup to replay"
    started = {e.action: e.undo.kind for e in events if e.event is ActionEvent.STARTED and e.undo is not None}
    assert started == {a: kind for a, kind in replays.items() if a in done}, "each undo was journaled before it acted"
    notes = "\n".join(getattr(error.value, "__notes__", []))
    assert all(f"{a} " in notes.split("undone:", 1)[1] for a in done if a in undoable), notes


# -- k3s ------------------------------------------------------------------------------------------------------

K3S_ACTIONS = ["cluster", "images", "deploy", "wait available", "metrics"]
K3S_DO = {
    "cluster": "container start",
    "images": "import images",
    "deploy": "apply",
    "wait available": "wait",
    "metrics": "prometheus up",
}
K3S_UNDO = {"cluster": ["container stop"], "deploy": ["release"], "metrics": ["prometheus down"]}
K3S_REPLAYS = {"cluster": "remove-container", "metrics": "remove-dir"}


def _k3s(run_dir: Path, log: list[str], after_action: Callable[[str], None]) -> Callable[[str], object]:
    class Container:
        def start(self) -> None:
            log.append("container start")

        def get_wrapped_container(self) -> Any:
            return type("Wrapped", (), {"id": "abc123"})()

        def config_yaml(self) -> str:
            return kubeconfig_text("https://localhost:32771", context="drill")

        def stop(self) -> None:
            log.append("container stop")

    return k3s.provider(
        SCENARIOS,
        run_dir,
        container_factory=Container,
        importer=lambda _id, _images: log.append("import images"),
        sandbox_type=logged_sandbox(log),
        prometheus=lambda: LoggedPrometheus(log),
        after_action=after_action,
    )


@pytest.mark.parametrize("failed_after", K3S_ACTIONS)
def test_a_failure_after_any_k3s_bring_up_action_undoes_exactly_what_was_done_in_reverse(
    tmp_path: Path, failed_after: str
) -> None:
    log: list[str] = []
    with pytest.raises(SandboxError, match=rf"^injected failure after {re.escape(failed_after)}\nbring-up: ") as error:
        _k3s(tmp_path, log, fail_after(failed_after))("zephyr-voting")
    done = K3S_ACTIONS[: K3S_ACTIONS.index(failed_after) + 1]
    undos = [u for a in reversed(done) for u in K3S_UNDO.get(a, [])]
    assert log == [K3S_DO[a] for a in done] + undos
    expect_undone_in_reverse(error, journal(tmp_path), done, list(K3S_UNDO), K3S_REPLAYS)


def test_the_k3s_bring_up_runs_the_actions_the_failure_tests_walk(tmp_path: Path) -> None:
    log: list[str] = []
    sandbox = _k3s(tmp_path, log, lambda _name: None)("zephyr-voting")
    assert [e.action for e in journal(tmp_path) if e.event is ActionEvent.FINISHED] == K3S_ACTIONS
    assert log == [K3S_DO[a] for a in K3S_ACTIONS]
    assert isinstance(sandbox, KubeSandbox)
    sandbox.close()  # releases the sandbox, then runs the undos
    assert log[len(K3S_ACTIONS) :] == ["release", *(u for a in reversed(K3S_ACTIONS) for u in K3S_UNDO.get(a, []))]


# -- an existing cluster --------------------------------------------------------------------------------------

EXISTING_ACTIONS = ["deploy", "wait available", "metrics"]
EXISTING_DO = {"deploy": "apply", "wait available": "wait", "metrics": "prometheus up"}
EXISTING_UNDO = {"deploy": ["release", "delete created"], "metrics": ["prometheus down"]}
AZORA = SCENARIOS / "azora" / "manifests.yaml"


def _objects(path: Path) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of each object in a manifest file, as ``existed`` is asked about them."""
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
    return [
        (
            d["kind"],
            "" if d["kind"] == "Namespace" else d["metadata"].get("namespace") or "default",
            d["metadata"]["name"],
        )
        for d in docs
    ]


ALL_AZORA = _objects(AZORA)
BEFORE = {
    "nothing": set(),
    "the namespace and two objects": {
        ("Namespace", "", "production"),
        ("Service", "production", "postgres"),
        ("Secret", "production", "postgres-superuser"),
    },
    "everything": set(ALL_AZORA),
}


def _existing(
    tmp_path: Path, log: list[str], before: set[tuple[str, str, str]], after_action: Callable[[str], None]
) -> tuple[Callable[[str], object], list[list[tuple[str, str, str]]], list[Path]]:
    source = tmp_path / "user-kubeconfig"
    source.write_text(kubeconfig_text("https://127.0.0.1:6443", context="drill"))
    environ = {"KUBECONFIG": str(source), "DRILLBOOK_ALLOW_CONTEXTS": "drill"}
    deleted: list[list[tuple[str, str, str]]] = []
    files: list[Path] = []

    def delete_created(_env: Mapping[str, str], _created: list[dict[str, Any]], path: Path) -> None:
        log.append("delete created")
        files.append(path)
        deleted.append(_objects(path))  # what `kubectl delete -f PATH` would delete

    factory = existing.provider(
        SCENARIOS,
        tmp_path / "run",
        environ,
        existed=lambda _env: lambda kind_, ns, name: (kind_, ns, name) in before,
        sandbox_type=logged_sandbox(log),
        prometheus=lambda: LoggedPrometheus(log),
        delete_created=delete_created,
        after_action=after_action,
    )
    return factory, deleted, files


@pytest.mark.parametrize("before", list(BEFORE))
@pytest.mark.parametrize("failed_after", EXISTING_ACTIONS)
def test_a_failure_after_any_existing_bring_up_action_deletes_only_what_the_drill_created(
    tmp_path: Path, failed_after: str, before: str
) -> None:
    log: list[str] = []
    factory, deleted, files = _existing(tmp_path, log, BEFORE[before], fail_after(failed_after))
    with pytest.raises(SandboxError, match=rf"^injected failure after {re.escape(failed_after)}\nbring-up: ") as error:
        factory("azora")
    done = EXISTING_ACTIONS[: EXISTING_ACTIONS.index(failed_after) + 1]
    undos = [u for a in reversed(done) for u in EXISTING_UNDO.get(a, [])]
    assert log == [EXISTING_DO[a] for a in done] + undos
    created = [o for o in ALL_AZORA if o not in BEFORE[before]]
    assert deleted == [list(reversed(created))], "all the drill made, newest first, and nothing that was there before"
    assert not set(deleted[0]) & BEFORE[before]
    events = journal(tmp_path / "run")
    replays = {"deploy": "run", "metrics": "remove-dir"} if created else {"metrics": "remove-dir"}
    expect_undone_in_reverse(error, events, done, list(EXISTING_UNDO), replays)
    deploy = next(e for e in events if e.event is ActionEvent.STARTED and e.action == "deploy")
    if created:
        assert deploy.undo is not None
        assert deploy.undo.args["argv"] == existing.delete_argv(files[0]), "cleanup deletes the same file's objects"


def test_the_existing_bring_up_runs_the_actions_the_failure_tests_walk(tmp_path: Path) -> None:
    log: list[str] = []
    factory, deleted, _ = _existing(tmp_path, log, set(), lambda _name: None)
    sandbox = factory("azora")
    assert [e.action for e in journal(tmp_path / "run") if e.event is ActionEvent.FINISHED] == EXISTING_ACTIONS
    assert isinstance(sandbox, KubeSandbox)
    sandbox.close()  # releases the sandbox, then runs the undos
    assert log == [EXISTING_DO[a] for a in EXISTING_ACTIONS] + [
        "release",
        "prometheus down",
        "release",
        "delete created",
    ]
    assert deleted == [list(reversed(ALL_AZORA))]


# -- kind: the in-process actions after the plan's commands --------------------------------------------------

ZEPHYR = load_scenario(SCENARIOS / "zephyr-voting")


def _kind_plan(cluster: str, kubeconfig: Path) -> list[kind.Step]:
    return kind.kind_plan(
        cluster,
        kubeconfig,
        kind.images_to_load(ZEPHYR.manifests, ZEPHYR.images),
        ZEPHYR.manifests,
        kind.scenario_deployments(ZEPHYR.manifests),
    )


KIND_ACTIONS = [*(kind.step_name(s) for s in _kind_plan("c", Path("k"))), "access", "metrics"]
KIND_UNDO = {"metrics": "prometheus down", "access": "release", "cluster": "kind delete cluster"}


@pytest.mark.parametrize("failed_after", KIND_ACTIONS)
def test_a_failure_after_any_kind_bring_up_action_undoes_it_in_reverse_and_deletes_the_cluster(
    tmp_path: Path, failed_after: str
) -> None:
    log: list[str] = []
    commands: list[list[str]] = []

    def runner(argv: Sequence[str]) -> str:
        commands.append(list(argv))
        log.append(" ".join(argv[:3]) if tuple(argv[:3]) == ("kind", "delete", "cluster") else shlex.join(argv))
        if tuple(argv[:3]) == ("kind", "create", "cluster"):
            Path(argv[argv.index("--kubeconfig") + 1]).write_text(
                kubeconfig_text("https://127.0.0.1:40123", context="drill")
            )
        return ""

    factory = kind.provider(
        SCENARIOS,
        tmp_path,
        runner=runner,
        prometheus=lambda: LoggedPrometheus(log),
        sandbox_type=logged_sandbox(log),
        after_action=fail_after(failed_after),
    )
    with pytest.raises(SandboxError, match=rf"^injected failure after {re.escape(failed_after)}\nbring-up: ") as error:
        factory("zephyr-voting")
    create = commands[0]
    cluster, kubeconfig = create[create.index("--name") + 1], create[create.index("--kubeconfig") + 1]
    plan = _kind_plan(cluster, Path(kubeconfig))
    did = {kind.step_name(s): shlex.join(s.argv) for s in plan} | {"metrics": "prometheus up"}
    done = KIND_ACTIONS[: KIND_ACTIONS.index(failed_after) + 1]
    undos = [KIND_UNDO[a] for a in reversed(done) if a in KIND_UNDO]
    assert log == [did[a] for a in done if a in did] + undos
    assert plan[0].undo is not None
    assert commands[-1] == list(plan[0].undo), "the cluster the drill made is the one deleted"
    expect_undone_in_reverse(
        error, journal(tmp_path), done, list(KIND_UNDO), {"cluster": "run", "metrics": "remove-dir"}
    )
