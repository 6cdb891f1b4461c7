"""Bring-up as journaled actions: each undo journaled before its action, run in reverse on any failure, replayed
by cleanup after a kill; the local and docker providers' action lists, with a failure injected after each action."""

from __future__ import annotations

import json
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from drillbook.errors import ClusterError, SandboxError
from drillbook.platform import replay
from drillbook.platform.bringup import FILE, Action, ActionEvent, BringUp, BringUpJournal, UndoSpec, pending_undos
from drillbook.platform.docker.provider import ContainerSandbox, DockerBringUp, docker_actions
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local.sandbox import LocalBringUp, local_actions, wait_for_removals
from drillbook.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
LOCAL_ACTIONS = ["state dir", "cluster", "fault proxy", "deploy", "wait available", "snapshot", "metrics"]
DOCKER_ACTIONS = [
    "state dir", "datastores", "cluster", "fault proxy", "datastores ready", "deploy", "wait available", "metrics",
]  # fmt: skip


class Ticks:
    """A clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _events(evidence: Path) -> list[tuple[str, str]]:
    return [(e.event.value, e.action) for e in BringUpJournal(evidence / FILE).read()]


def _fail_after(name: str) -> Any:
    def hook(finished: str) -> None:
        if finished == name:
            raise ClusterError(f"injected failure after {finished}")

    return hook


# -- the action runner ----------------------------------------------------------------------------------------


def test_each_undo_is_journaled_before_its_action_runs_and_teardown_undoes_in_reverse(tmp_path: Path) -> None:
    seen: list[str] = []

    def act(name: str) -> Action:
        def run() -> dict[str, Any]:
            journal = _events(tmp_path)
            assert journal[-1] == ("started", name)  # the undo is on disk before the action acts
            seen.append(f"do {name}")
            return {"pid": 42}

        return Action(name, run, lambda: seen.append(f"undo {name}"), UndoSpec("stop-process", f"stop {name}"))

    bringup = BringUp(tmp_path, platform="local", clock=Ticks())
    bringup.run_all([act("cluster"), act("fault proxy")])
    bringup.close()
    assert seen == ["do cluster", "do fault proxy", "undo fault proxy", "undo cluster"]
    assert _events(tmp_path) == [
        ("sandbox", ""),
        ("started", "cluster"),
        ("finished", "cluster"),
        ("started", "fault proxy"),
        ("finished", "fault proxy"),
        ("undone", "fault proxy"),
        ("undone", "cluster"),
    ]
    finished = [e for e in BringUpJournal(tmp_path / FILE).read() if e.event is ActionEvent.FINISHED]
    assert [e.seconds for e in finished] == [1.0, 1.0]
    assert finished[0].facts == {"pid": 42}
    assert bringup.summary() == "cluster 1.0 s, fault proxy 1.0 s"
    assert bringup.teardown_summary() == "fault proxy 1.0 s, cluster 1.0 s"


def test_an_action_that_fails_is_undone_too_and_the_error_says_what_was_done(tmp_path: Path) -> None:
    undone: list[str] = []

    def boom() -> None:
        raise ClusterError("kind load failed")

    bringup = BringUp(tmp_path, platform="kind", clock=Ticks())
    with pytest.raises(ClusterError, match="kind load failed") as caught:
        bringup.run_all(
            [
                Action("cluster", lambda: None, lambda: undone.append("cluster")),
                Action("load", boom, lambda: undone.append("load (cut short)")),
                Action("deploy", lambda: pytest.fail("ran after a failure"), lambda: undone.append("deploy")),
            ]
        )
    assert undone == ["load (cut short)", "cluster"]
    assert ("failed", "load") in _events(tmp_path)
    assert "bring-up: cluster 1.0 s; undone: load 1.0 s, cluster 1.0 s" in caught.value.__notes__


def test_a_failing_undo_is_journaled_and_the_others_still_run(tmp_path: Path) -> None:
    undone: list[str] = []

    def broken() -> None:
        raise OSError("device busy")

    bringup = BringUp(tmp_path, platform="local", clock=Ticks())
    bringup.run_all(
        [Action("state dir", lambda: None, lambda: undone.append("state dir")), Action("cluster", lambda: None, broken)]
    )
    with pytest.raises(OSError, match="device busy"):
        bringup.close()
    assert undone == ["state dir"]
    assert ("undo-failed", "cluster") in _events(tmp_path)
    assert "cluster 1.0 s (FAILED: OSError: device busy)" in bringup.teardown_summary()


def test_ctrl_c_during_an_action_undoes_what_was_done(tmp_path: Path) -> None:
    undone: list[str] = []

    def interrupted() -> None:
        raise KeyboardInterrupt

    bringup = BringUp(tmp_path, platform="local")
    with pytest.raises(KeyboardInterrupt):
        bringup.run_all(
            [Action("cluster", lambda: None, lambda: undone.append("cluster")), Action("deploy", interrupted)]
        )
    assert undone == ["cluster"]


def test_pending_undos_are_what_started_and_was_never_undone_newest_first(tmp_path: Path) -> None:
    bringup = BringUp(tmp_path, platform="local")
    spec = UndoSpec("remove-dir", "remove it", {"path": "/tmp/drillbook-x"})
    bringup.run(Action("state dir", lambda: {"path": "/tmp/drillbook-x"}, lambda: None, spec))
    bringup.run(Action("cluster", lambda: {"pid": 7}, lambda: None, UndoSpec("stop-process", "stop localkube")))
    bringup.run(Action("deploy", lambda: None))
    # a kill here: nothing undone
    pending = pending_undos(BringUpJournal(tmp_path / FILE).read())
    assert [(name, undo.kind if undo else None, facts) for name, undo, facts in pending] == [
        ("deploy", None, {}),
        ("cluster", "stop-process", {"pid": 7}),
        ("state dir", "remove-dir", {"path": "/tmp/drillbook-x"}),
    ]


def test_a_corrupt_journal_line_is_skipped_with_a_warning_naming_its_line(tmp_path: Path) -> None:
    BringUp(tmp_path, platform="local").run(Action("cluster", lambda: None))
    with (tmp_path / FILE).open("a") as out:
        out.write('{"event": "started", "acti\n')
    warnings: list[str] = []
    events = BringUpJournal(tmp_path / FILE).read(warnings.append)
    assert len(events) == 3
    assert len(warnings) == 1
    assert f"{FILE}:4:" in warnings[0]


# -- cleanup's replay -----------------------------------------------------------------------------------------


def _killed_sandbox(run_dir: Path, actions: list[Action]) -> Path:
    evidence = run_dir / "sandboxes" / "zephyr-voting-1"
    evidence.mkdir(parents=True)
    bringup = BringUp(evidence, platform="local")
    for action in actions:
        bringup.run(action)
    # as if another process (now dead) had run it: cleanup leaves a live run's sandbox alone
    path = evidence / FILE
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["facts"]["pid"] = 2**22 + 1  # above pid_max's default: no such process
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    return evidence


def test_cleanup_replays_each_pending_undo_newest_first_and_a_second_cleanup_finds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    monkeypatch.setitem(replay.REPLAYS, "fake", lambda spec, facts: ran.append(f"{spec.what} {facts}") or "undone")
    _killed_sandbox(
        tmp_path,
        [
            Action("state dir", lambda: None, None, UndoSpec("fake", "remove dir")),
            Action("cluster", lambda: {"pid": 7}, None, UndoSpec("fake", "stop localkube")),
            Action("deploy", lambda: None),
        ],
    )
    said: list[str] = []
    assert replay.replay_sandboxes(tmp_path, said.append) == 0
    assert ran == ["stop localkube {'pid': 7}", "remove dir {}"]
    assert said == ["zephyr-voting-1: cluster: undone", "zephyr-voting-1: state dir: undone"]
    said.clear()
    assert replay.replay_sandboxes(tmp_path, said.append) == 0
    assert said == []


def test_cleanup_says_not_undone_when_a_replay_fails_and_tries_it_again_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def engine_gone(spec: UndoSpec, facts: dict[str, Any]) -> str:
        raise replay.ReplayFailed("could not remove the containers labelled x: the engine does not answer")

    monkeypatch.setitem(replay.REPLAYS, "fake", engine_gone)
    _killed_sandbox(tmp_path, [Action("datastores", lambda: None, None, UndoSpec("fake", "remove containers"))])
    said: list[str] = []
    assert replay.replay_sandboxes(tmp_path, said.append) == 1
    assert said == ["zephyr-voting-1: datastores: NOT undone: could not remove the containers labelled x: the "
                    "engine does not answer"]  # fmt: skip
    assert replay.replay_sandboxes(tmp_path, said.append) == 1


def test_cleanup_leaves_the_sandbox_of_a_live_run_alone(tmp_path: Path) -> None:
    import os

    evidence = _killed_sandbox(tmp_path, [Action("cluster", lambda: None, None, UndoSpec("fake", "stop"))])
    path = evidence / FILE
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["facts"]["pid"] = os.getppid()  # a live process that is not this one
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    before = path.read_text()
    said: list[str] = []
    assert replay.replay_sandboxes(tmp_path, said.append) == 0
    assert said == [
        f"zephyr-voting-1: left its bring-up alone: the run that made it (pid {os.getppid()}) is still running"
    ]
    assert path.read_text() == before


def test_the_dir_replay_removes_only_drillbook_temp_dirs(tmp_path: Path) -> None:
    with pytest.raises(replay.ReplayFailed, match="not a drillbook temp dir"):
        replay.REPLAYS["remove-dir"](UndoSpec("remove-dir", "remove", {"path": str(tmp_path)}), {})
    assert tmp_path.exists()


def test_the_process_replay_never_signals_a_process_whose_start_time_differs() -> None:
    import os

    outcome = replay.REPLAYS["stop-process"](
        UndoSpec("stop-process", "stop localkube"), {"pid": os.getpid(), "create_time": 1.0}
    )
    assert "now another process, left alone" in outcome


def test_a_process_replay_without_a_pid_says_its_start_was_cut_short() -> None:
    outcome = replay.REPLAYS["stop-process"](UndoSpec("stop-process", "stop localkube"), {})
    assert outcome == "nothing to stop: the run recorded no pid for stop localkube (its start was cut short)"


def test_an_unknown_undo_kind_is_not_undone_and_says_what_to_do(tmp_path: Path) -> None:
    _killed_sandbox(tmp_path, [Action("cluster", lambda: None, None, UndoSpec("teleport", "delete the cluster"))])
    said: list[str] = []
    assert replay.replay_sandboxes(tmp_path, said.append) == 1
    assert "NOT undone: no replay for the undo kind 'teleport'" in said[0]
    assert "delete the cluster by hand" in said[0]


# -- the providers' action lists, a failure injected after each action ---------------------------------------


class FakeProcess:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self.url = "http://127.0.0.1:1"
        self.kubeconfig = Path("/nonexistent/kubeconfig")
        self.log_path = Path("/nonexistent/localkube.log")
        self.process = None
        self.pid = None

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.kubeconfig)}


class FakePrometheus:
    url = "http://127.0.0.1:2"

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def up(self, _ctx: Any) -> None:
        self.log.append("start prometheus")

    def down(self) -> None:
        self.log.append("stop prometheus")

    def load_rules(self, rules: Any) -> None:
        self.log.append("load rules")


def _fake_sandbox(base: type[KubeSandbox], log: list[str]) -> Any:
    class Fake(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            self.scenario = kwargs["scenario"]
            self.api_client = None
            self.access = type("Access", (), {"address": lambda *a: ("127.0.0.1", 1)})()

        def apply(self) -> None:
            log.append("apply")

        def wait_available(self) -> None:
            log.append("wait")

        def release(self) -> None:
            log.append("release")

    return Fake


def _local(tmp_path: Path, log: list[str]) -> LocalBringUp:
    scenario = load_scenario(SCENARIOS / "zephyr-voting")
    ctx = LocalBringUp(scenario=scenario, evidence=tmp_path, time_factor=1.0)
    ctx.state = tmp_path / "drillbook-state"
    ctx.kube = FakeProcess(log, "localkube")  # type: ignore[assignment]
    ctx.proxy = FakeProcess(log, "proxy")  # type: ignore[assignment]
    ctx.prometheus = FakePrometheus(log)  # type: ignore[assignment]
    ctx.sandbox_type = _fake_sandbox(KubeSandbox, log)
    ctx.identify = lambda *a, **k: log.append("identify")
    return ctx


LOCAL_DO = ["start localkube", "identify", "start proxy", "apply", "wait", "start prometheus"]
LOCAL_UNDO = {
    "metrics": "stop prometheus",
    "deploy": "release",
    "fault proxy": "stop proxy",
    "cluster": "stop localkube",
}


@pytest.mark.parametrize("fail_after", LOCAL_ACTIONS)
def test_a_failure_after_any_local_bring_up_action_undoes_exactly_what_was_done(
    tmp_path: Path, fail_after: str
) -> None:
    log: list[str] = []
    ctx = _local(tmp_path, log)
    bringup = BringUp(tmp_path, platform="local", after_action=_fail_after(fail_after))
    with pytest.raises(ClusterError, match=f"injected failure after {fail_after}"):
        bringup.run_all(local_actions(ctx, bringup))
    done = LOCAL_ACTIONS[: LOCAL_ACTIONS.index(fail_after) + 1]
    undos = [LOCAL_UNDO[a] for a in reversed(done) if a in LOCAL_UNDO]
    assert log[len(log) - len(undos) :] == undos
    wait_for_removals()
    assert not ctx.state.exists()
    journal = _events(tmp_path)
    assert [a for e, a in journal if e == "finished"] == done
    assert [a for e, a in journal if e == "undone"] == [a for a in reversed(done) if a in [*LOCAL_UNDO, "state dir"]]


def test_the_local_bring_up_runs_its_actions_in_the_architectures_order(tmp_path: Path) -> None:
    log: list[str] = []
    ctx = _local(tmp_path, log)
    bringup = BringUp(tmp_path, platform="local")
    actions = local_actions(ctx, bringup)
    assert [a.name for a in actions] == LOCAL_ACTIONS
    bringup.run_all(actions)
    assert log == LOCAL_DO
    assert ctx.state.is_dir()
    assert ctx.sandbox is not None
    bringup.close()
    wait_for_removals()  # the state dir goes in a background thread (remove_later)
    assert not ctx.state.exists()


def _docker(tmp_path: Path, log: list[str], *, start_fails: bool = False) -> DockerBringUp:
    scenario = load_scenario(SCENARIOS / "zephyr-voting")
    ctx = DockerBringUp(scenario=scenario, evidence=tmp_path, label="run.label", time_factor=1.0)
    ctx.state = tmp_path / "drillbook-state"
    ctx.kube = FakeProcess(log, "localkube")  # type: ignore[assignment]
    ctx.proxy = FakeProcess(log, "proxy")  # type: ignore[assignment]
    ctx.prometheus = FakePrometheus(log)  # type: ignore[assignment]
    ctx.sandbox_type = _fake_sandbox(ContainerSandbox, log)

    def start(_scenario: Any, label: str, _docs: Any) -> Future[dict[str, Any]]:
        log.append(f"start containers {label}")
        started: Future[dict[str, Any]] = Future()
        if start_fails:
            started.set_exception(SandboxError("postgres container did not become ready"))
        else:
            started.set_result({"postgres": type("C", (), {"container_id": "c0ffee", "loopback_port": 1})()})
        return started

    ctx.start = start
    ctx.remove = lambda label, pending: log.append(f"remove containers {label}")
    return ctx


DOCKER_UNDO = {
    "metrics": "stop prometheus",
    "deploy": "release",
    "fault proxy": "stop proxy",
    "cluster": "stop localkube",
    "datastores": "remove containers run.label",
}


@pytest.mark.parametrize("fail_after", DOCKER_ACTIONS)
def test_a_failure_after_any_docker_bring_up_action_undoes_exactly_what_was_done(
    tmp_path: Path, fail_after: str
) -> None:
    log: list[str] = []
    ctx = _docker(tmp_path, log)
    bringup = BringUp(tmp_path, platform="docker", after_action=_fail_after(fail_after))
    actions = docker_actions(ctx, bringup)
    assert [a.name for a in actions] == DOCKER_ACTIONS
    with pytest.raises(ClusterError, match=f"injected failure after {fail_after}"):
        bringup.run_all(actions)
    done = DOCKER_ACTIONS[: DOCKER_ACTIONS.index(fail_after) + 1]
    undos = [DOCKER_UNDO[a] for a in reversed(done) if a in DOCKER_UNDO]
    assert log[len(log) - len(undos) :] == undos
    wait_for_removals()
    assert not ctx.state.exists()
    started = [e for e in BringUpJournal(tmp_path / FILE).read() if e.event is ActionEvent.STARTED]
    replays = {e.action: e.undo.kind for e in started if e.undo is not None}
    assert replays == {
        a: k
        for a, k in {
            "state dir": "remove-dir",
            "datastores": "remove-containers",
            "cluster": "stop-process",
            "fault proxy": "stop-process",
        }.items()
        if a in done
    }


def test_a_datastore_start_that_fails_in_the_background_removes_the_containers_by_label(tmp_path: Path) -> None:
    log: list[str] = []
    ctx = _docker(tmp_path, log, start_fails=True)
    bringup = BringUp(tmp_path, platform="docker")
    with pytest.raises(SandboxError, match="did not become ready"):
        bringup.run_all(docker_actions(ctx, bringup))
    assert log[-3:] == ["stop proxy", "stop localkube", "remove containers run.label"]
    assert ("failed", "datastores ready") in _events(tmp_path)


def test_the_process_replay_leaves_a_live_pid_alone_when_no_start_time_was_recorded() -> None:
    import os

    with pytest.raises(replay.ReplayFailed, match="cannot be told from a reused pid"):
        replay.REPLAYS["stop-process"](UndoSpec("stop-process", "stop localkube"), {"pid": os.getpid()})
