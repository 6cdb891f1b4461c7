"""The journal writes typed events as JSON lines and reads them back, surviving killed and newer runs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from drillbook.journal import (
    SCHEMA_VERSION,
    AlertEvaluated,
    ControlRun,
    Decision,
    DrillFinished,
    DrillStarted,
    Event,
    EventType,
    FaultInjected,
    FaultReverted,
    FaultRevertRecorded,
    Finding,
    FindingKind,
    JournalError,
    JournalWriter,
    MttrProjection,
    Note,
    NoteLevel,
    Phase,
    PhaseChanged,
    PhaseStatus,
    Platform,
    RunFinished,
    RunStarted,
    SloBreached,
    SloCheck,
    SloRestored,
    SloWindow,
    StepFinished,
    StepStarted,
    ToolVersions,
    Unrehearsed,
    Verdict,
    VerdictReached,
    Whose,
    load_journal,
    read_journal,
)
from drillbook.journal.events import EVENT_CLASSES
from drillbook.journal.reader import MAX_JOURNAL_BYTES


def one_of_each() -> list[Event]:
    d = "zephyr-voting/db-pool"
    return [
        RunStarted(
            run_id="r1",
            platform=Platform.LOCAL,
            platform_label="localkube",
            drillbook_version="0.1.0",
            git_commit="abc123",
            versions=ToolVersions(kubectl="v1.30.0", postgresql="15.6", redis="7.0.15", python="3.11.2"),
            argv=["pytest", "features/"],
        ),
        DrillStarted(
            drill=d,
            system="zephyr-voting",
            incident_id="db-pool",
            incident_title="Database connection pool exhausted",
            fault="pool-exhaustion",
            runbook_path="scenarios/zephyr-voting/runbook.md",
            runbook_sha256="0" * 64,
            scenario="Pool exhaustion is fixed by scaling",
            target_s=300.0,
            target_text="MTTR < 5 minutes",
            target_kind="mttr",
            checks=[SloCheck(metric="error_rate", op="<", threshold=0.01, unit="ratio", text="error rate < 1%")],
        ),
        PhaseChanged(drill=d, t=0.5, phase=Phase.PROVISION, status=PhaseStatus.FINISHED, detail="ok"),
        FaultRevertRecorded(drill=d, t=1.0, fault="pool-exhaustion", revert="close 90 connections", spec={"n": 90}),
        FaultInjected(drill=d, t=1.0, fault="pool-exhaustion", params={"connections": "90"}),
        SloWindow(drill=d, t=2.0, window_s=1.0, requests=50, errors=0, error_rate=0.0, p50_ms=3.0, p95_ms=None),
        SloBreached(drill=d, t=3.0, check="error rate < 1%", value=0.4, held_s=2.0),
        StepStarted(drill=d, t=4.0, step=1, title="Check pods", as_written="kubectl get po", as_run="kubectl get po"),
        StepFinished(
            drill=d,
            t=5.0,
            step=1,
            title="Check pods",
            decision=Decision.BOUNDED,
            exit_code=0,
            output_excerpt="NAME READY\nzephyr-1 1/1",
            duration_s=1.0,
        ),
        FaultReverted(drill=d, t=6.0, fault="pool-exhaustion"),
        SloRestored(drill=d, t=7.0, check="all", held_s=10.0),
        ControlRun(
            drill=d,
            t=7.5,
            mode="once",
            key="zephyr-voting|pool-exhaustion|connections=90",
            window_s=20.0,
            self_healed=False,
            cached=True,
            source="zephyr-voting/other#1",
            t_start=3.0,
            t_end=3.0,
        ),
        AlertEvaluated(
            drill=d,
            t=7.9,
            name="HighErrorRate",
            text="Error rate > 5% for 5 minutes",
            line=83,
            expr='(sum(rate(http_requests_total{status=~"5.."}[15s])) / sum(rate(http_requests_total[15s])) * 100) > 5',
            for_s=2.0,
            how="error rate: 5xx share of http_requests_total by status, in %",
            rule="HighErrorRate",
            outcome="fired",
            pending_t=4.0,
            firing_t=6.0,
            resolved_t=7.5,
            peak=31.5,
            unit="%",
            fault_t=3.5,
        ),
        VerdictReached(
            drill=d,
            t=8.0,
            verdict=Verdict.PASSED_WITH_FINDINGS,
            reason="restored",
            time_to_restore_s=6.0,
            projected_mttr_s=200.0,
            projection=MttrProjection(alert_delay_s=120.0, operator_s=74.0, measured_s=6.0),
            target_s=300.0,
            target_kind="mttr",
            attributed_step=1,
            attribution="step 1 (Check pods)",
            outcome="restored",
            findings=[
                Finding(
                    kind=FindingKind.STALE_COMMAND,
                    step=1,
                    title="Check pods",
                    command="kubectl get po | x",
                    line=12,
                    whose=Whose.RUNBOOK,
                    message="renamed",
                    counts=True,
                )
            ],
            unrehearsed=[
                Unrehearsed(step=2, title="Page", command="helm rollback x 1", reason="no helm", decisive=True)
            ],
        ),
        DrillFinished(drill=d, t=9.0),
        Note(message="über ✓ <b>", level=NoteLevel.WARNING, drill=d, t=9.5),
        RunFinished(),
    ]


def test_every_event_type_round_trips_through_the_file(tmp_path: Path) -> None:
    events = one_of_each()
    assert {e.type for e in events} == set(EventType) == set(EVENT_CLASSES)
    path = tmp_path / "run" / "journal.jsonl"
    with JournalWriter(path) as writer:
        for event in events:
            writer.write(event)
    assert read_journal(path) == events


def test_each_event_is_one_line_with_type_and_wall_clock_time(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.write(FaultInjected(drill="d", t=1.5, fault="redis-outage"))
        # Visible before close: the writer flushes per event, so a killed run loses nothing.
        line = path.read_text().splitlines()[0]
    body = json.loads(line)
    assert body["type"] == "fault_injected"
    assert body["drill"] == "d"
    assert body["t"] == 1.5
    assert body["ts"] > 1_600_000_000


def test_run_started_carries_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.write(RunStarted(run_id="r", platform=Platform.KIND))
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_writer_appends_to_an_existing_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.write(DrillFinished(drill="a"))
    with JournalWriter(path) as writer:
        writer.write(DrillFinished(drill="b"))
    assert [e.drill for e in read_journal(path) if isinstance(e, DrillFinished)] == ["a", "b"]


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path, durable=False) as writer:

        def burst(name: str) -> None:
            for i in range(200):
                writer.write(Note(message=name * 500, t=float(i)))

        threads = [threading.Thread(target=burst, args=(n,)) for n in "abcd"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(read_journal(path)) == 800


def test_a_truncated_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.write(DrillStarted(**_drill_fields()))
        writer.write(SloWindow(drill="d", t=1.0, window_s=1.0, requests=10, errors=1, error_rate=0.1))
    text = path.read_text()
    path.write_text(text[: len(text) - 20])
    journal = load_journal(path)
    assert journal.truncated
    assert [e.type for e in journal.events] == [EventType.DRILL_STARTED]
    assert any("cut off" in w for w in journal.warnings)


def test_unknown_event_types_are_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(
        json.dumps({"type": "hologram", "ts": 1.0})
        + "\n"
        + json.dumps({"type": "drill_finished", "ts": 2.0, "drill": "d", "t": 3.0, "new_field": True})
        + "\n"
    )
    journal = load_journal(path)
    assert journal.events == [DrillFinished(ts=2.0, drill="d", t=3.0)]
    assert not journal.truncated
    assert any("'hologram'" in w and ":1:" in w for w in journal.warnings)


def test_a_corrupt_line_before_the_end_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    good = json.dumps({"type": "drill_finished", "ts": 2.0, "drill": "d"})
    path.write_text(good + "\n" + '{"type": "drill_finished", "ts": "yesterday", "drill": "d"}\n' + good + "\n")
    with pytest.raises(JournalError, match=r"journal\.jsonl:2: .*drill_finished\.ts: expected float"):
        read_journal(path)


def test_a_wrong_enum_value_names_the_allowed_values(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    bad = {"type": "phase", "drill": "d", "phase": "dance", "status": "started"}
    path.write_text(json.dumps(bad) + "\n" + json.dumps({"type": "run_finished"}) + "\n")
    with pytest.raises(JournalError, match="expected one of provision, baseline"):
        read_journal(path)


def test_a_journal_over_the_size_limit_is_refused_naming_it_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    line = json.dumps({"type": "drill_finished", "ts": 2.0, "drill": "d"}) + "\n"
    path.write_text(line * (2 * 1024 * 1024 // len(line) + 1))
    with pytest.raises(JournalError) as caught:
        load_journal(path, limit=2 * 1024 * 1024)
    assert str(caught.value) == (
        f"{path}: expected a journal of at most 2 MB, the file is larger; is this a drillbook journal? "
        "Pass the journal.jsonl a drill run wrote"
    )


def test_a_device_with_no_line_ends_is_read_only_up_to_the_limit() -> None:
    with pytest.raises(JournalError, match="/dev/zero: expected a journal of at most 1 MB, the file is larger"):
        load_journal("/dev/zero", limit=1024 * 1024)


def test_the_default_journal_limit_is_256_mb() -> None:
    assert MAX_JOURNAL_BYTES == 256 * 1024 * 1024


def test_a_missing_journal_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="expected a journal at"):
        read_journal(tmp_path / "nothing.jsonl")


def test_a_newer_schema_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with JournalWriter(path) as writer:
        writer.write(RunStarted(run_id="r", platform=Platform.LOCAL, schema_version=SCHEMA_VERSION + 1))
    journal = load_journal(path)
    assert len(journal.events) == 1
    assert any("newer" in w for w in journal.warnings)


def _drill_fields() -> dict[str, str]:
    return {
        "drill": "d",
        "system": "azora",
        "incident_id": "i",
        "incident_title": "t",
        "fault": "f",
        "runbook_path": "p",
        "runbook_sha256": "s",
        "scenario": "sc",
    }
