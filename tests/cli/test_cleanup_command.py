"""`drillbook cleanup` undoes what a killed run left behind, from the journal alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from drillbook.cli import main
from drillbook.journal import FaultReverted, FaultRevertRecorded, JournalWriter
from drillbook.platform.local.kube.cluster import LocalKubeProcess, write_kubeconfig
from drillbook.platform.local.record import SandboxRecord, cluster_uid

pytestmark = pytest.mark.slow  # cleanup runs nft, and most of these start processes or a cluster


def _orphan(marker: str) -> subprocess.Popen[bytes]:
    # Stands in for a fault helper whose run was SIGKILLed: its own session, the marker on its command line.
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker], start_new_session=True)


@pytest.mark.live
def test_cleanup_ends_the_helper_of_a_fault_that_was_never_reverted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orphan = _orphan("drillbook-hog-test1234")
    pidfile = tmp_path / "hog.pid"
    pidfile.write_text(str(orphan.pid))
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        spec = {"pidfile": str(pidfile), "marker": "drillbook-hog-test1234", "admin_dsn": None}
        journal.write(FaultRevertRecorded(drill="azora/RB-007#1", fault="pool-exhaustion", revert="stop", spec=spec))
    try:
        assert main(["cleanup", str(tmp_path)]) == 0
        assert orphan.wait(timeout=10) is not None
        assert "reverted pool-exhaustion" in capsys.readouterr().out
    finally:
        if orphan.poll() is None:
            orphan.kill()


@pytest.mark.live
def test_cleanup_leaves_alone_a_process_that_merely_reuses_the_pid(tmp_path: Path) -> None:
    stranger = _orphan("not-ours")
    pidfile = tmp_path / "hog.pid"
    pidfile.write_text(str(stranger.pid))
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        spec = {"pidfile": str(pidfile), "marker": "drillbook-hog-gone", "admin_dsn": None}
        journal.write(FaultRevertRecorded(drill="d", fault="pool-exhaustion", revert="stop", spec=spec))
    try:
        assert main(["cleanup", str(tmp_path)]) == 0
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_cleanup_of_a_clean_run_says_there_is_nothing_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        journal.write(FaultRevertRecorded(drill="d", fault="pod-kill", revert="nothing", spec={}))
        journal.write(FaultReverted(drill="d", fault="pod-kill"))
    assert main(["cleanup", str(tmp_path)]) == 0
    assert "nothing to clean up" in capsys.readouterr().out


def test_cleanup_without_a_journal_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cleanup", str(tmp_path)]) == 2
    assert "no journal" in capsys.readouterr().err


# -- forgiving, identity-checked cleanup ------------------------------------------------------------------------


class _Recorder:
    calls: ClassVar[list[object]] = []

    @classmethod
    def undo_from_spec(cls, spec: object) -> None:
        cls.calls.append(spec)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> type[_Recorder]:
    import drillbook.faults.base

    _Recorder.calls = []
    monkeypatch.setattr(drillbook.faults.base, "fault_class", lambda name: _Recorder)
    return _Recorder


def _journal_with_pending(run_dir: Path, spec: dict[str, object]) -> None:
    with JournalWriter(run_dir / "journal.jsonl") as journal:
        journal.write(FaultRevertRecorded(drill="d#1", fault="bad-release", revert="roll back", spec=spec))  # type: ignore[arg-type]


def test_a_corrupt_line_is_skipped_with_a_warning_and_the_lines_after_it_still_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orphan = _orphan("drillbook-hog-test5678")
    pidfile = tmp_path / "hog.pid"
    pidfile.write_text(str(orphan.pid))
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        journal.write(FaultRevertRecorded(drill="d#1", fault="pod-kill", revert="nothing", spec={}))
    with (tmp_path / "journal.jsonl").open("a") as raw:
        raw.write('{"type": "fault_reverted", "drill": \n')  # cut in the middle, then the run went on
    with JournalWriter(tmp_path / "journal.jsonl") as journal:
        journal.write(FaultReverted(drill="d#1", fault="pod-kill"))
        spec = {"pidfile": str(pidfile), "marker": "drillbook-hog-test5678", "admin_dsn": None}
        journal.write(FaultRevertRecorded(drill="d#2", fault="pool-exhaustion", revert="stop", spec=spec))
    try:
        assert main(["cleanup", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert f"warning: {tmp_path / 'journal.jsonl'}:2: skipped a line that is not a journal event" in out
        assert "d#2: reverted pool-exhaustion" in out
        assert "pod-kill" not in out  # reverted after the corrupt line: nothing to do
        assert orphan.wait(timeout=10) is not None
    finally:
        if orphan.poll() is None:
            orphan.kill()


def test_an_empty_journal_is_named_and_cleanup_still_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "journal.jsonl").write_text("")
    assert main(["cleanup", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no journal event in it" in out
    assert "nothing to clean up" in out


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalKubeProcess]:
    kube = LocalKubeProcess(state_dir=tmp_path / "kube")
    kube.start()
    try:
        yield kube
    finally:
        kube.stop()


def _recorded_run(run_dir: Path, kube: LocalKubeProcess, *, uid: str | None = None) -> Path:
    """A dead run's directory: its sandbox record and a kubeconfig for the cluster on ``kube``'s address."""
    kubeconfig = run_dir / "state" / "kubeconfig"
    write_kubeconfig(kubeconfig, kube.url)
    evidence = run_dir / "sandboxes" / "azora-1"
    evidence.mkdir(parents=True)
    SandboxRecord(
        pid=_dead_pid(), state_dir=str(run_dir / "state"), kubeconfig=str(kubeconfig), server=kube.url,
        cluster_uid=uid if uid is not None else cluster_uid(kube.url),
    ).write(evidence)  # fmt: skip
    _journal_with_pending(run_dir, {"kube_env": {"KUBECONFIG": str(kubeconfig)}, "namespace": "default"})
    return kubeconfig


def test_cleanup_against_another_cluster_on_the_runs_address_does_nothing_and_says_why(
    tmp_path: Path, cluster: LocalKubeProcess, recorder: type[_Recorder], capsys: pytest.CaptureFixture[str]
) -> None:
    # The dead run's cluster is gone; an unrelated localkube now listens on its port and would accept anything.
    _recorded_run(tmp_path / "run", cluster, uid="uid-of-the-dead-runs-cluster")
    assert main(["cleanup", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert recorder.calls == []
    assert "d#1: bad-release: did nothing:" in out
    assert f"the cluster at {cluster.url} is another one (kube-system UID" in out
    assert "the run's was uid-of-the-dead-runs-cluster" in out


def test_a_fault_on_a_cluster_the_run_never_recorded_is_left_alone(
    tmp_path: Path, recorder: type[_Recorder], capsys: pytest.CaptureFixture[str]
) -> None:
    _journal_with_pending(tmp_path, {"kube_env": {"KUBECONFIG": str(tmp_path / "elsewhere")}})
    assert main(["cleanup", str(tmp_path)]) == 0
    assert recorder.calls == []
    assert "the run recorded no identity for the cluster" in capsys.readouterr().out


def test_cleanup_on_the_runs_own_cluster_reverts(
    tmp_path: Path, cluster: LocalKubeProcess, recorder: type[_Recorder], capsys: pytest.CaptureFixture[str]
) -> None:
    _recorded_run(tmp_path / "run", cluster)
    assert main(["cleanup", str(tmp_path / "run")]) == 0
    assert len(recorder.calls) == 1
    assert "d#1: reverted bad-release: roll back" in capsys.readouterr().out


def test_a_cluster_that_is_gone_leaves_nothing_to_revert_and_no_raw_client_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kube = LocalKubeProcess(state_dir=tmp_path / "kube")
    kube.start()
    _recorded_run(tmp_path / "run", kube, uid="its-uid")
    kube.kill()
    # The real fault's revert: without the identity check it would end in urllib3's MaxRetryError.
    assert main(["cleanup", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "is gone: nothing is left applied there" in out
    assert "MaxRetryError" not in out


def test_the_state_dir_of_a_dead_run_is_removed_and_a_live_runs_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "journal.jsonl").write_text("")
    dead_state = Path(tempfile.mkdtemp(prefix="drillbook-cleanup-test-"))
    live_state = Path(tempfile.mkdtemp(prefix="drillbook-cleanup-test-"))
    (dead_state / "pgdata").mkdir()
    (dead_state / "pgdata" / "base").write_bytes(b"x" * 2_000_000)
    try:
        for name, state, pid in (("dead-1", dead_state, _dead_pid()), ("live-1", live_state, os.getpid())):
            (tmp_path / "sandboxes" / name).mkdir(parents=True)
            SandboxRecord(pid, str(state), str(state / "kubeconfig"), "http://127.0.0.1:1", "").write(
                tmp_path / "sandboxes" / name
            )
        assert main(["cleanup", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert not dead_state.exists()
        assert f"removed the state dir {dead_state} of a dead run (2 MB)" in out
        assert live_state.exists()
        assert f"left {live_state} alone: the run that made it (pid {os.getpid()}) is still running" in out
    finally:
        shutil.rmtree(dead_state, ignore_errors=True)
        shutil.rmtree(live_state, ignore_errors=True)


def test_a_dead_runs_database_snapshots_are_removed_and_a_live_runs_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for run, pid in (("dead", _dead_pid()), ("live", os.getpid())):
        run_dir = tmp_path / run
        (run_dir / "snapshots" / "azora").mkdir(parents=True)
        (run_dir / "snapshots" / "azora" / "base.tar").write_bytes(b"x" * 3_000_000)
        (run_dir / "journal.jsonl").write_text("")
        state = run_dir / "gone-state"  # already removed: only the snapshots are left
        (run_dir / "sandboxes" / "azora-1").mkdir(parents=True)
        SandboxRecord(pid, str(state), "", "", "").write(run_dir / "sandboxes" / "azora-1")
    assert main(["cleanup", str(tmp_path / "dead")]) == 0
    assert not (tmp_path / "dead" / "snapshots").exists()
    assert f"removed the run's database snapshots {tmp_path / 'dead' / 'snapshots'} (3 MB)" in capsys.readouterr().out
    assert main(["cleanup", str(tmp_path / "live")]) == 0
    assert (tmp_path / "live" / "snapshots" / "azora" / "base.tar").exists()
    assert f"(pid {os.getpid()}) is still running" in capsys.readouterr().out


def test_a_recorded_state_dir_that_drillbook_did_not_make_is_never_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "journal.jsonl").write_text("")
    precious = tmp_path / "precious"
    precious.mkdir()
    (tmp_path / "sandboxes" / "x-1").mkdir(parents=True)
    SandboxRecord(_dead_pid(), str(precious), "", "", "").write(tmp_path / "sandboxes" / "x-1")
    assert main(["cleanup", str(tmp_path)]) == 0
    assert precious.exists()
    assert "it is not a drillbook state dir" in capsys.readouterr().out


def _dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid
