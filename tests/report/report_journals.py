"""Recorded journals for the report tests, written with the real JournalWriter (imported by name, not as conftest)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from drillbook.journal import (
    ControlRun,
    Decision,
    DrillFinished,
    DrillStarted,
    FaultInjected,
    FaultReverted,
    FaultRevertRecorded,
    Finding,
    FindingKind,
    JournalWriter,
    MttrProjection,
    Note,
    NoteLevel,
    Phase,
    PhaseChanged,
    PhaseStatus,
    Platform,
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
)

HOSTILE = "<script>alert('pwned')</script>"
CHECKS = [
    SloCheck(metric="error_rate", op="<", threshold=1.0, unit="%", text="error rate < 1%"),
    SloCheck(metric="latency_p95", op="<", threshold=200.0, unit="ms", text="p95 latency < 200ms"),
]


class GameDay:
    """Writes drills into one journal with a consistent wall clock."""

    def __init__(self, writer: JournalWriter, t0: float = 1_790_000_000.0) -> None:
        self.w = writer
        self.clock = t0

    def run_started(self, platform: Platform = Platform.LOCAL) -> None:
        self.w.write(
            RunStarted(
                ts=self.clock,
                run_id="20261123-194700-abc",
                platform=platform,
                platform_label="localkube 0.1",
                drillbook_version="0.1.0",
                git_commit="f505460deadbeef",
                versions=ToolVersions(kubectl="v1.30.2", postgresql="15.8", redis="7.0.15", python="3.11.2"),
                argv=["pytest", "features/", "-k", "zephyr"],
            )
        )

    def start(self, drill: str, system: str, title: str, fault: str, target_s: float | None = 300.0) -> None:
        self.w.write(
            DrillStarted(
                ts=self.clock,
                drill=drill,
                system=system,
                incident_id=drill.rsplit("/", maxsplit=1)[-1],
                incident_title=title,
                fault=fault,
                runbook_path=f"scenarios/{system}/runbook.md",
                runbook_sha256="ab" * 32,
                scenario=f"{title} is fixed by the runbook",
                target_s=target_s,
                target_text="MTTR < 5 minutes" if target_s else "",
                target_kind="mttr",
                checks=CHECKS,
            )
        )

    def at(self, drill: str, t: float) -> dict[str, object]:
        return {"drill": drill, "t": t, "ts": self.clock + t}

    def phase(self, drill: str, t: float, phase: Phase, status: PhaseStatus = PhaseStatus.STARTED) -> None:
        self.w.write(PhaseChanged(**self.at(drill, t), phase=phase, status=status))

    def windows(self, drill: str, start: float, end: float, bad: Callable[[float], bool], step: float = 1.0) -> None:
        n = round((end - start) / step)
        for i in range(n):
            t = start + (i + 1) * step
            broken = bad(t)
            requests = 50
            errors = 20 if broken else 0
            self.w.write(
                SloWindow(
                    **self.at(drill, t),
                    window_s=step,
                    requests=requests,
                    errors=errors,
                    error_rate=errors / requests,
                    p50_ms=20.0,
                    p95_ms=(900.0 if broken else 40.0) + 10 * math.sin(t),
                    p99_ms=1000.0 if broken else 60.0,
                    rps=requests / step,
                )
            )

    def inject(self, drill: str, t: float, fault: str) -> None:
        self.w.write(FaultRevertRecorded(**self.at(drill, t), fault=fault, revert=f"undo {fault}"))
        self.w.write(FaultInjected(**self.at(drill, t), fault=fault, params={"strength": "90"}))

    def step(
        self,
        drill: str,
        t: float,
        number: int,
        title: str,
        command: str,
        *,
        decision: Decision = Decision.RUNS,
        exit_code: int | None = 0,
        output: str = "ok",
        duration_s: float = 1.5,
        finish: bool = True,
    ) -> None:
        common = {"step": number, "title": title, "as_written": command, "decision": decision}
        self.w.write(StepStarted(**self.at(drill, t), as_run=command.replace("<pod>", "web-1"), **common))
        if finish:
            self.w.write(
                StepFinished(
                    **self.at(drill, t + duration_s),
                    as_run=command.replace("<pod>", "web-1"),
                    exit_code=exit_code,
                    output_excerpt=output,
                    duration_s=duration_s,
                    **common,
                )
            )

    def verdict(self, drill: str, t: float, verdict: Verdict, reason: str, **kw: object) -> None:
        self.w.write(VerdictReached(**self.at(drill, t), verdict=verdict, reason=reason, **kw))
        self.w.write(DrillFinished(**self.at(drill, t + 1)))
        self.clock += t + 5


def write_passed(g: GameDay, drill: str = "zephyr-voting/db-pool", length: float = 60.0) -> None:
    g.start(drill, "zephyr-voting", "Database connection pool exhausted", "pool-exhaustion")
    g.phase(drill, 0.0, Phase.PROVISION)
    g.phase(drill, 5.0, Phase.BASELINE)
    g.windows(drill, 5.0, 10.0, lambda t: False)
    g.inject(drill, 10.0, "pool-exhaustion")
    g.windows(drill, 10.0, length, lambda t: 11 <= t < length * 0.6)
    g.w.write(SloBreached(**g.at(drill, 13.0), check="error rate < 1%", value=0.4, held_s=2.0))
    g.phase(drill, 14.0, Phase.RESPOND)
    g.step(drill, 15.0, 1, "Check pod status", "kubectl get pods -n zephyr", output="NAME READY\nweb-1 1/1")
    g.step(drill, 18.0, 2, "Scale out", "kubectl scale deploy/web --replicas=4")
    g.w.write(FaultReverted(**g.at(drill, length * 0.55), fault="pool-exhaustion"))
    g.w.write(SloRestored(**g.at(drill, length * 0.7), check="all checks", value=0.0, held_s=10.0))
    g.verdict(
        drill,
        length,
        Verdict.PASSED,
        "SLOs restored 26.0 s after injection; projected MTTR 4 min 10 s is within the 5 min target",
        time_to_restore_s=26.0,
        projected_mttr_s=250.0,
        projection=MttrProjection(alert_delay_s=120, acknowledge_s=60, operator_s=44, measured_s=26),
        target_s=300.0,
        attributed_step=2,
    )


STALE_SQL = "SELECT query, mean_time FROM pg_stat_statements WHERE query LIKE '%|%' ORDER BY mean_time DESC;"
TICKED = "kubectl get pods -o jsonpath='{.items[*].metadata.name}' | grep `hostname`"
LONG_TAIL = "x" * 400


def write_with_findings(g: GameDay, drill: str = "azora/RB-008") -> None:
    """RB-008's shape: restored by step 4, two stale diagnostics, harmful advice, a control run beside it."""
    g.start(drill, "azora", "RB-008: Slow Database Queries", "slow-query")
    g.inject(drill, 5.0, "slow-query")
    g.windows(drill, 5.0, 40.0, lambda t: 6 <= t < 25)
    g.w.write(SloBreached(**g.at(drill, 7.0), check="p95 latency < 200ms", value=900.0))
    g.w.write(
        ControlRun(
            **g.at(drill, 19.0), mode="once", key="azora|slow-query||users=10", window_s=12.0, self_healed=False,
            cached=False, source=drill, t_start=7.0, t_end=19.0, detail="still breached after 12.0 s",
        )
    )  # fmt: skip
    g.step(drill, 19.5, 1, "Identify slow queries", STALE_SQL, exit_code=1, output='ERROR: column "mean_time"')
    g.step(drill, 21.0, 4, "Create index", "CREATE INDEX idx_users_email ON users(email);")
    g.step(drill, 23.0, 6, "Monitor", TICKED, exit_code=1, output="Error from server (NotFound)")
    findings = [
        Finding(kind=FindingKind.STALE_COMMAND, step=1, title="Identify slow queries", command=STALE_SQL, line=41,
                whose=Whose.RUNBOOK, message="Runbook: the diagnostic step 1 is out of date " + LONG_TAIL),
        Finding(kind=FindingKind.HARMFUL, step=4, title="Create index", command="CREATE INDEX idx ON users(email);",
                line=52, whose=Whose.RUNBOOK, message="Runbook: step 4: CREATE INDEX without CONCURRENTLY <blocks>"),
        Finding(kind=FindingKind.STALE_COMMAND, step=6, title="Monitor", command=TICKED, line=60, whose=Whose.RUNBOOK,
                message="Runbook: the diagnostic step 6 is out of date (pods_not_found * 2)"),
    ]  # fmt: skip
    g.verdict(
        drill,
        40.0,
        Verdict.PASSED_WITH_FINDINGS,
        f"Restored by step 4 (Create index) after 18 s in the sandbox. Runbook findings: stale-command in steps 1 "
        f"and 6; harmful in step 4: `{STALE_SQL}` and ``{TICKED}``",
        time_to_restore_s=18.0,
        projected_mttr_s=500.0,
        target_s=1800.0,
        attributed_step=4,
        attribution="step 4 (Create index): the SLOs turned at t=24.0 s, 1.0 s after it ended, and held",
        outcome="restored",
        findings=findings,
    )


def write_inconclusive(g: GameDay, drill: str = "azora/RB-003") -> None:
    """The decisive step (helm rollback) cannot be rehearsed: recovery unknown."""
    g.start(drill, "azora", "RB-003: Pods Crashing", "bad-release")
    g.inject(drill, 5.0, "bad-release")
    g.windows(drill, 5.0, 30.0, lambda t: t > 6)
    g.w.write(ControlRun(**g.at(drill, 6.5), mode="off", key="azora|bad-release|tag=1.5.2|users=10"))
    g.step(drill, 7.0, 7, "Rollback", "helm rollback azora-prod 1 -n production", decision=Decision.MISSING_TOOL,
           exit_code=None, output="", duration_s=0.0)  # fmt: skip
    g.verdict(
        drill,
        30.0,
        Verdict.INCONCLUSIVE,
        "the sandbox could not rehearse a step that decides the outcome (step 7 (Rollback): missing tool: helm)",
        outcome="not observed",
        findings=[
            Finding(kind=FindingKind.MISSING_TOOL, step=7, title="Rollback", command="helm rollback azora-prod 1",
                    whose=Whose.SANDBOX, message="Sandbox: step 7 needs a tool the sandbox lacks", counts=False)
        ],
        unrehearsed=[Unrehearsed(step=7, title="Rollback", command="helm rollback azora-prod 1 -n production",
                                 reason="missing tool: helm is not installed", decisive=True)],
    )  # fmt: skip


def write_game_day(path: Path, *, truncate_last: bool = False) -> None:
    """Passed, passed with findings, inconclusive, failed, vacuous and error drills, then one cut off mid-respond."""
    with JournalWriter(path) as writer:
        g = GameDay(writer)
        g.run_started()
        write_passed(g)
        write_with_findings(g)
        write_inconclusive(g)

        d = "azora/redis-down"
        g.start(d, "azora", "Redis unavailable & sessions lost", "redis-outage")
        g.inject(d, 5.0, "redis-outage")
        g.windows(d, 5.0, 40.0, lambda t: t > 6)
        g.w.write(SloBreached(**g.at(d, 8.0), check="error rate < 1%", value=0.4, held_s=2.0))
        g.step(
            d,
            9.0,
            1,
            "Restart Redis",
            "aws elasticache reboot-cache-cluster",
            decision=Decision.BLOCKED,
            exit_code=None,
            output="",
            duration_s=0.0,
        )
        g.step(d, 10.0, 2, "Tail logs", "kubectl logs <pod>", output=HOSTILE + "\nline2")
        g.verdict(
            d,
            40.0,
            Verdict.FAILED,
            f"step 1 (Restart Redis) was blocked by policy: {HOSTILE}",
            time_to_restore_s=None,
            projected_mttr_s=None,
            target_s=300.0,
            attributed_step=1,
        )

        d = "chat-rooms/slow-queries"
        g.start(d, "chat-rooms", "Slow queries", "slow-query", target_s=None)
        g.inject(d, 5.0, "slow-query")
        g.windows(d, 0.0, 30.0, lambda t: False)
        g.verdict(d, 30.0, Verdict.VACUOUS, "the fault never breached the SLOs within 25 s")

        d = "phase5-todo/crashloop"
        g.start(d, "phase5-todo", "Pods in CrashLoopBackOff", "crashloop")
        g.phase(d, 0.0, Phase.PROVISION)
        g.phase(d, 3.0, Phase.PROVISION, PhaseStatus.FAILED)
        g.w.write(Note(**g.at(d, 3.0), level=NoteLevel.ERROR, message="postgres did not start: initdb exited 1"))
        g.verdict(d, 3.0, Verdict.ERROR, "the sandbox failed, so nothing was proven: postgres did not start")

        d = "architect-api/oom"
        g.start(d, "architect-api", "Memory leak OOMKilled", "memory-leak")
        g.inject(d, 5.0, "memory-leak")
        g.windows(d, 0.0, 20.0, lambda t: t > 8)
        g.phase(d, 12.0, Phase.RESPOND)
        g.step(d, 13.0, 1, "Check memory", "kubectl top pods", finish=False)
        if not truncate_last:
            return
    text = path.read_text()
    path.write_text(text[:-25])
