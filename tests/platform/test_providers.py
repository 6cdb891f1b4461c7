"""The thin real-cluster providers: the production guard, kind's command sequence, k3s teardown on failure."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from drillbook.errors import ClusterError, UsageError
from drillbook.platform import k3s, kind
from drillbook.platform.existing import check_allowed

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _kubeconfig(tmp_path: Path, context: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(f"apiVersion: v1\nkind: Config\ncurrent-context: {context}\ncontexts: []\n")
    return path


def test_an_existing_cluster_is_refused_unless_its_context_is_allowed(tmp_path: Path) -> None:
    config = _kubeconfig(tmp_path, "prod-eu-1")
    with pytest.raises(
        UsageError, match=r"refusing to inject faults into context 'prod-eu-1'.*DRILLBOOK_ALLOW_CONTEXTS"
    ):
        check_allowed(config, {"DRILLBOOK_ALLOW_CONTEXTS": "staging, sandbox"})


def test_an_allowed_context_passes_the_guard(tmp_path: Path) -> None:
    config = _kubeconfig(tmp_path, "sandbox")
    assert check_allowed(config, {"DRILLBOOK_ALLOW_CONTEXTS": "staging, sandbox"}) == "sandbox"


def test_a_kubeconfig_without_a_current_context_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(UsageError, match="no current-context"):
        check_allowed(config, {"DRILLBOOK_ALLOW_CONTEXTS": "x"})


REPO = SCENARIOS.parent
ZEPHYR = SCENARIOS / "zephyr-voting"


def _zephyr_plan(cluster: str = "drillbook-zephyr-voting", kubeconfig: str = "kubeconfig") -> list[kind.Step]:
    manifests = Path("scenarios/zephyr-voting/manifests.yaml")
    return kind.kind_plan(
        cluster,
        Path(kubeconfig),
        kind.images_to_load(ZEPHYR / "manifests.yaml", ZEPHYR / "images.yaml"),
        manifests,
        kind.scenario_deployments(ZEPHYR / "manifests.yaml"),
    )


def _readme_kind_block() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### kind, by hand", 1)[1]
    block = section.split("```", 2)[1]
    return [line for line in block.splitlines() if line.strip()]


def _workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / ".github" / "workflows" / "gameday.yml").read_text())
    return loaded


def test_the_kind_plan_is_the_commands_the_readme_documents_in_order() -> None:
    assert [shlex.join(step.argv) for step in _zephyr_plan()] == _readme_kind_block()


def test_the_workflow_brings_a_seed_up_with_the_plans_commands_and_deletes_the_cluster() -> None:
    steps = _workflow()["jobs"]["smoke"]["steps"]
    bring_up = next(s for s in steps if s.get("name") == "bring up zephyr-voting on kind")
    assert bring_up["run"].strip().splitlines() == [shlex.join(step.argv) for step in _zephyr_plan()]
    delete = next(s for s in steps if s.get("name") == "delete the cluster")
    assert delete["if"] == "always()"
    undo = _zephyr_plan()[0].undo
    assert undo is not None
    assert delete["run"] == shlex.join(undo)


def test_the_workflow_runs_the_game_day_on_kind_in_shards_and_merges_them() -> None:
    jobs = _workflow()["jobs"]
    shards = jobs["gameday"]["strategy"]["matrix"]["shard"]
    count = int(_workflow()["env"]["SHARDS"])
    assert shards == list(range(1, count + 1))
    runs = [s.get("run", "") for s in jobs["gameday"]["steps"]]
    assert "drillbook images build" in runs
    gameday = next(r for r in runs if r.startswith("drillbook gameday"))
    assert (
        gameday == "drillbook gameday --platform kind --shard ${{ matrix.shard }}/${{ env.SHARDS }} --reports shards/"
    )
    merged = [s.get("run", "") for s in jobs["report"]["steps"]]
    assert "drillbook report --merge shards/* --out reports/gameday" in merged
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for documented in ("drillbook gameday --shard I/N", "drillbook report --merge", "drillbook images build"):
        assert documented in readme


def test_the_plan_loads_every_release_a_fault_or_rollback_deploys_and_waits_only_on_the_scenarios_deployments() -> None:
    plan = _zephyr_plan()
    loaded = [step.argv[3] for step in plan if step.action == "load"]
    assert {"zephyr/backend:2.0", "zephyr/backend:1.9.0", "zephyr/backend:2.2", "postgres:15", "redis:7"} <= set(loaded)
    waited = [step.argv[-1] for step in plan if step.action == "wait"]
    assert waited == ["deployment/postgres", "deployment/redis", "deployment/zephyr-backend"]
    assert all("--all" not in step.argv and "-A" not in step.argv for step in plan)


@pytest.mark.parametrize("fail_at", range(len(_zephyr_plan())))
def test_a_failure_after_any_bring_up_command_deletes_the_cluster_and_nothing_else_runs(
    tmp_path: Path, fail_at: int
) -> None:
    calls: list[list[str]] = []
    planned = len(_zephyr_plan())

    def runner(argv: Sequence[str]) -> str:
        calls.append(list(argv))
        if len(calls) == fail_at + 1:
            raise ClusterError(f"injected failure in {argv[0]} {argv[1]}")
        return ""

    factory = kind.provider(SCENARIOS, tmp_path, runner=runner)
    with pytest.raises(ClusterError, match="injected failure"):
        factory("zephyr-voting")
    assert len(calls) == fail_at + 2 <= planned + 1
    name = calls[0][calls[0].index("--name") + 1]
    assert calls[-1] == ["kind", "delete", "cluster", "--name", name, "--kubeconfig", calls[0][-3]]


def test_an_interrupt_during_kind_load_deletes_the_cluster(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def runner(argv: Sequence[str]) -> str:
        calls.append(list(argv))
        if list(argv[:2]) == ["kind", "load"]:
            raise KeyboardInterrupt
        return ""

    with pytest.raises(KeyboardInterrupt):
        kind.provider(SCENARIOS, tmp_path, runner=runner)("zephyr-voting")
    assert calls[-1][:3] == ["kind", "delete", "cluster"]


def test_each_kind_drill_gets_its_own_cluster_name() -> None:
    first, second = kind.cluster_name("zephyr-voting"), kind.cluster_name("zephyr-voting")
    assert first != second
    assert first.startswith("drillbook-zephyr-voting-")


def test_k3s_stops_its_container_when_importing_the_images_fails(tmp_path: Path) -> None:
    class FakeContainer:
        stopped = False

        def start(self) -> None:
            pass

        def get_wrapped_container(self) -> Any:
            return type("Wrapped", (), {"id": "abc123"})()

        def stop(self) -> None:
            FakeContainer.stopped = True

    def importer(container_id: str, images: Sequence[str]) -> None:
        assert container_id == "abc123"
        assert "zephyr/backend:2.0" in images
        raise ClusterError("ctr images import zephyr/backend:2.0 failed: injected")

    factory = k3s.provider(SCENARIOS, tmp_path, container_factory=FakeContainer, importer=importer)
    with pytest.raises(ClusterError, match="injected"):
        factory("zephyr-voting")
    assert FakeContainer.stopped


def test_k3s_uses_the_community_module_and_a_local_image() -> None:
    import inspect

    assert "testcontainers.community.k3s" in inspect.getsource(k3s._k3s_container)
    assert k3s.k3s_image() == os.environ.get("DRILLBOOK_K3S_IMAGE", "rancher/k3s:latest")


def test_existing_teardown_deletes_only_what_did_not_exist_before_the_drill() -> None:
    from drillbook.platform.existing import created_objects

    already = {("Namespace", "", "production"), ("Service", "production", "postgres")}
    created = created_objects(SCENARIOS / "azora" / "manifests.yaml", lambda k, ns, n: (k, ns, n) in already)
    names = {(d["kind"], d["metadata"]["name"]) for d in created}
    assert ("Namespace", "production") not in names
    assert ("Service", "postgres") not in names
    assert ("Deployment", "api-gateway") in names


def test_the_kind_bring_up_journals_the_cluster_delete_before_creating_it_so_cleanup_can_replay_it(
    tmp_path: Path,
) -> None:
    from drillbook.platform.bringup import FILE, ActionEvent, BringUpJournal, pending_undos

    seen: list[list[str]] = []

    def runner(argv: Sequence[str]) -> str:
        if tuple(argv[:2]) == ("kind", "create"):
            (journal,) = tmp_path.glob(f"sandboxes/*/{FILE}")
            started = [e for e in BringUpJournal(journal).read() if e.event is ActionEvent.STARTED]
            assert started[-1].undo is not None
            seen.append(list(started[-1].undo.args["argv"]))  # type: ignore[arg-type]
        if tuple(argv[:2]) == ("kind", "load"):
            raise KeyboardInterrupt  # a kill is what leaves it; Ctrl-C undoes it at once
        return ""

    with pytest.raises(KeyboardInterrupt):
        kind.provider(SCENARIOS, tmp_path, runner=runner)("zephyr-voting")
    assert seen
    assert seen[0][:3] == ["kind", "delete", "cluster"]
    (journal,) = tmp_path.glob(f"sandboxes/*/{FILE}")
    events = BringUpJournal(journal).read()
    assert ("undone", "cluster") in [(e.event.value, e.action) for e in events]
    assert all(undo is None for _, undo, _ in pending_undos(events))  # nothing is left for cleanup to replay
