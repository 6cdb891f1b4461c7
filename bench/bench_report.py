"""How long a full game day's journal takes to write, read and render, and how big the reports are.

Synthetic game day: 15 drills, each 10 minutes of 1 s SLO windows with a fault, a breach, six runbook
commands with output, a restore and a verdict. Prints journal write time (durable, fsync per event, and
buffered), render time (read + fold + all formats), and the byte size of each file with the ratio
html/journal. Bounded: a few seconds.

Run: ``.venv/bin/python bench/bench_report.py``
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from drillbook.journal import (
    Decision,
    DrillFinished,
    DrillStarted,
    Event,
    FaultInjected,
    FaultReverted,
    FaultRevertRecorded,
    JournalWriter,
    MttrProjection,
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
    Verdict,
    VerdictReached,
    load_journal,
)
from drillbook.report import render_reports

DRILLS = 15
SECONDS = 600
CHECKS = [
    SloCheck(metric="error_rate", op="<", threshold=1.0, unit="%", text="error rate < 1%"),
    SloCheck(metric="latency_p95", op="<", threshold=200.0, unit="ms", text="p95 latency < 200ms"),
]


def drill_events(index: int, t0: float) -> list[Event]:
    """One synthetic drill: fault at 60 s, breach, six commands, revert at 300 s, restore at 330 s."""
    d = f"system-{index % 5}/incident-{index:02d}"
    events: list[Event] = [
        DrillStarted(
            ts=t0,
            drill=d,
            system=f"system-{index % 5}",
            incident_id=f"incident-{index:02d}",
            incident_title=f"Incident {index}: database pool exhausted",
            fault="pool-exhaustion",
            runbook_path=f"scenarios/system-{index % 5}/runbook.md",
            runbook_sha256="ab" * 32,
            scenario="synthetic",
            target_s=300.0,
            target_text="MTTR < 5 minutes",
            target_kind="mttr",
            checks=CHECKS,
        )
    ]
    for t in range(1, SECONDS + 1):
        if t == 60:
            events.append(FaultRevertRecorded(ts=t0 + t, drill=d, t=t, fault="pool-exhaustion", revert="close"))
            events.append(FaultInjected(ts=t0 + t, drill=d, t=t, fault="pool-exhaustion"))
        if t == 65:
            events.append(SloBreached(ts=t0 + t, drill=d, t=t, check="error rate < 1%", value=0.3, held_s=3))
        if t in (90, 120, 150, 180, 210, 240):
            command = f"kubectl get pods -n ns-{index} -o wide  # step {t // 30 - 2}"
            step = {"step": t // 30 - 2, "title": "Check pods", "as_written": command, "as_run": command}
            events.append(StepStarted(ts=t0 + t, drill=d, t=t, **step))  # type: ignore[arg-type]
            events.append(
                StepFinished(
                    ts=t0 + t + 2,
                    drill=d,
                    t=t + 2,
                    decision=Decision.RUNS,
                    exit_code=0,
                    output_excerpt="NAME READY STATUS\n" + "web-1 1/1 Running\n" * 40,
                    duration_s=2.0,
                    **step,  # type: ignore[arg-type]
                )
            )
        if t == 300:
            events.append(FaultReverted(ts=t0 + t, drill=d, t=t, fault="pool-exhaustion"))
        if t == 330:
            events.append(SloRestored(ts=t0 + t, drill=d, t=t, check="all", held_s=30))
        broken = 62 <= t < 310
        events.append(
            SloWindow(
                ts=t0 + t,
                drill=d,
                t=t,
                window_s=1.0,
                requests=40,
                errors=12 if broken else 0,
                error_rate=0.3 if broken else 0.0,
                p50_ms=20.0,
                p95_ms=(800.0 if broken else 40.0) + 15 * math.sin(t / 7),
                p99_ms=1200.0 if broken else 60.0,
                rps=40.0,
            )
        )
    events.append(
        VerdictReached(
            ts=t0 + SECONDS,
            drill=d,
            t=SECONDS,
            verdict=Verdict.PASSED if index % 3 else Verdict.FAILED,
            reason="synthetic",
            time_to_restore_s=270.0,
            projected_mttr_s=480.0,
            projection=MttrProjection(alert_delay_s=120, acknowledge_s=60, operator_s=30, measured_s=270),
            target_s=300.0,
        )
    )
    events.append(DrillFinished(ts=t0 + SECONDS + 1, drill=d, t=SECONDS + 1))
    return events


def game_day() -> list[Event]:
    """A whole run's events."""
    start = 1_790_000_000.0
    events: list[Event] = [
        RunStarted(ts=start, run_id="bench", platform=Platform.LOCAL, versions=ToolVersions(python="3.11"))
    ]
    for index in range(DRILLS):
        events += drill_events(index, start + index * (SECONDS + 10))
    events.append(RunFinished(ts=start + DRILLS * (SECONDS + 10)))
    return events


def write(path: Path, events: list[Event], *, durable: bool) -> float:
    """Seconds to write every event."""
    began = time.perf_counter()
    with JournalWriter(path, durable=durable) as writer:
        for event in events:
            writer.write(event)
    return time.perf_counter() - began


def main() -> None:
    """Print the figures."""
    events = game_day()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        root = Path(tmp)
        buffered = write(root / "buffered" / "journal.jsonl", events, durable=False)
        run_dir = root / "durable"
        durable = write(run_dir / "journal.jsonl", events, durable=True)
        began = time.perf_counter()
        load_journal(run_dir / "journal.jsonl")
        read_s = time.perf_counter() - began
        began = time.perf_counter()
        paths = render_reports(run_dir)
        render_s = time.perf_counter() - began
        journal_b = (run_dir / "journal.jsonl").stat().st_size
        html_b = paths.html.stat().st_size
        print(f"game day: {DRILLS} drills x {SECONDS} s of 1 s windows = {len(events)} events")
        print(f"journal write, fsync per event: {durable:7.3f} s  ({durable / len(events) * 1e6:7.1f} µs/event)")
        print(f"journal write, buffered:        {buffered:7.3f} s  ({buffered / len(events) * 1e6:7.1f} µs/event)")
        print(f"fsync cost ratio:               {durable / buffered:7.1f}x")
        print(f"journal read + decode:          {read_s:7.3f} s")
        print(f"render (read, fold, 3 formats): {render_s:7.3f} s")
        print(f"journal.jsonl: {journal_b:>10,} bytes")
        print(
            f"index.html:    {html_b:>10,} bytes  ({html_b / journal_b:.2f}x the journal, {html_b / 2**21:.1%} of 2 MB)"
        )
        print(f"summary.json:  {paths.json.stat().st_size:>10,} bytes")
        print(f"summary.md:    {paths.markdown.stat().st_size:>10,} bytes")


if __name__ == "__main__":
    main()
