"""Judge a drill: from what was observed to one verdict, its reason, its findings and what it did not rehearse.

Everything here is pure: the session gathers :class:`Observations` (one :class:`CommandResult` per command the
executor decided, plus what the monitor, the control run and the attribution saw) and :func:`judge` applies the
rules below, first match wins. ``tests/drill/test_drill_verdict.py`` has one row per rule.

Per command (:func:`assess`):

* a **prose-only** step is a finding (shown; it counts against a restored drill only when the drill had to
  supply the missing command) and is listed as not rehearsed;
* a command the policy **blocked** is an *unresolved-placeholder* (the runbook's) when a placeholder was left
  unfilled, else *blocked-by-policy* (the sandbox's); a **missing tool** is *missing-tool* (the sandbox's); a
  time filter the compressed sandbox cannot match (``now() - interval '10 minutes'`` on a fault seconds old) is
  *not-rehearsable* (judged only when the command ran: a command that failed is judged as a failure first).
  All are listed as not rehearsed; they are *decisive* when the command is an action;
* a **diagnostic** (read-only, non-terminating, or an effect this module does not know) that fails is a
  *stale-command* when its output says the runbook is out of date (``_ROT``), and nothing at all when it
  reports the outage it diagnoses (too many clients, connection refused): a failing diagnostic is at most a
  finding, never a failure;
* an **action** that fails is an *invalid-action*, the one finding that fails the drill (unless the drill marks
  the step optional); an action that ran but visibly changed nothing is *no-effect*;
* a command matching a known-unsafe pattern (``CREATE INDEX`` without ``CONCURRENTLY``, opening ingress to
  ``0.0.0.0/0``, growing a pool during pool exhaustion) is *harmful*: flagged for review, since the sandbox
  cannot measure the harm.

Per alert the incident names (:func:`alert_findings`, evaluated on the sandbox's Prometheus): one that did not fire
is a finding that never counts: *alert-not-fired* (the drill's fidelity: a compressed outage, a fault the rule does
not see), *alert-no-data* or *alert-unchecked* (the sandbox's). Alerts never decide a verdict.

Then the drill (:func:`judge`), in this order:

1. the sandbox broke → **error**; this platform cannot apply the drill's fault at all (known before anything
   was applied) → **inconclusive**;
2. the SLOs did not hold before the fault → **invalid**;
3. the fault never breached, breached without margin, or the do-nothing control restored by itself →
   **vacuous**;
4. a required action failed → **failed**;
5. restored: with no runbook action run → **vacuous**; projected MTTR over the resolution target → **failed**;
   a finding that counts → **passed with findings**; else **passed**;
6. not restored: a decisive action the sandbox could not rehearse → **inconclusive**; no executable remedy →
   **failed** (not attempted); back but not yet held for a flapping fault's hold → **inconclusive**; the
   machine running the sandbox was out of CPU at the end of the watch (:mod:`drillbook.drill.host`) →
   **inconclusive**; otherwise (the remedy ran and did not restore) → **failed**.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from drillbook.journal import Decision, Finding, FindingKind, Unrehearsed, Verdict, Whose

__all__ = [
    "PYTEST_OUTCOME",
    "AlertSeen",
    "CommandResult",
    "Control",
    "Judgement",
    "Observations",
    "Verdict",
    "assess",
    "is_action",
    "judge",
    "outcome_for_pytest",
]

ACTION_EFFECTS = frozenset({"mutating", "destructive", "external"})
"""Effects that change the system. Everything else (read-only, non-terminating, and any effect this module does
not know, such as a newer classifier's ``unknown``) is judged as a diagnostic; ``manual`` is prose and
``notification`` is a message to people."""

_ROT = re.compile(
    r"\(NotFound\)|does not exist|unknown (?:flag|command|shorthand)|doesn't have a resource type|"
    r"No resources found|syntax error|Unsupported value|is invalid|unrecognized option|invalid option|"
    r"command not found|not found in namespace",
    re.IGNORECASE,
)
"""Output that says the runbook itself is wrong (a renamed deployment, a dropped column, a bad flag), as opposed
to a symptom of the fault (connection refused, too many clients) that a diagnostic step is expected to show."""

_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'column "?(?:\w+\.)?mean_time"? does not exist'),
     "PostgreSQL 13 renamed pg_stat_statements.mean_time to mean_exec_time (total_time to total_exec_time)"),
    (re.compile(r'column "?(?:\w+\.)?total_time"? does not exist'),
     "PostgreSQL 13 renamed pg_stat_statements.total_time to total_exec_time"),
    (re.compile(r'not found in namespace "default"'),
     "the command names no namespace, so it looks in the kube context's default; add -n <namespace>"),
    (re.compile(r"unknown (?:flag|shorthand flag)"), "the tool does not know this flag (any more); check its --help"),
)  # fmt: skip
"""What to do about a well-known kind of rot, said in one clause."""

_TIMING = ("previous terminated container",)
"""Output that is about timing, not the runbook: ``logs --previous`` before the pod first crashed."""

_INTERVAL = re.compile(
    r"now\(\)\s*-\s*interval\s*'(\d+(?:\.\d+)?)\s*(seconds?|secs?|minutes?|mins?|hours?|h|m|s)'", re.IGNORECASE
)
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class _Harm:
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None
    faults: frozenset[str]
    """Only harmful during these faults; empty: always."""
    why: str


_HARMS: tuple[_Harm, ...] = (
    _Harm(
        re.compile(r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b", re.IGNORECASE),
        re.compile(r"\bCONCURRENTLY\b", re.IGNORECASE),
        frozenset(),
        "CREATE INDEX without CONCURRENTLY blocks every write to the table while it builds (and fails if the "
        "index half-exists); runbook: use CREATE INDEX CONCURRENTLY IF NOT EXISTS",
    ),
    _Harm(
        re.compile(r"authorize-security-group-ingress.*0\.0\.0\.0/0|0\.0\.0\.0/0.*authorize-security-group-ingress"),
        None,
        frozenset(),
        "opens ingress to 0.0.0.0/0, the opposite of blocking traffic; runbook: name the CIDR to allow or deny",
    ),
    _Harm(
        re.compile(r"\b\w*(?:POOL_SIZE|POOL_MAX|MAX_POOL|pool_size|max_connections)\w*\s*=\s*\d+"),
        None,
        frozenset({"pool-exhaustion", "connection-hog"}),
        "growing the connection pool during a server-side exhaustion adds clients competing for the same "
        "max_connections; runbook: stop the leak (restart the leaking client) before resizing pools",
    ),
)


PYTEST_OUTCOME: dict[Verdict, str] = {
    Verdict.PASSED: "pass",
    Verdict.PASSED_WITH_FINDINGS: "pass",
    Verdict.INCONCLUSIVE: "skip",
    Verdict.VACUOUS: "skip",
    Verdict.FAILED: "fail",
    Verdict.INVALID: "fail",
    Verdict.ERROR: "fail",
}
"""How a verdict reaches pytest (and so CI): a pass with findings passes (the findings are in the report and the
JUnit properties), a drill that proves nothing either way is skipped with its reason, and failed, invalid and
error fail. A verdict not listed here (one added later, such as *interrupted*) fails."""


def outcome_for_pytest(verdict: Verdict | str) -> str:
    """``"pass"``, ``"skip"`` or ``"fail"`` for a verdict (``"fail"`` for one this table does not know)."""
    return PYTEST_OUTCOME.get(verdict, "fail") if isinstance(verdict, Verdict) else _by_value(verdict)


def _by_value(value: str) -> str:
    try:
        return PYTEST_OUTCOME.get(Verdict(value), "fail")
    except ValueError:
        return "fail"


_HTTP_READ = re.compile(r"^\s*(?:curl|wget|http|https)\s")
_HTTP_WRITE = re.compile(
    r"\s(?:-X\s*|--request[\s=])(?:POST|PUT|PATCH|DELETE)\b|\s(?:-d|--data\S*|-F|--form|-T|--upload-file|--post-\w+)[\s=]",
    re.IGNORECASE,
)


def is_action(effect: str, command: str = "") -> bool:
    """Whether a command changes the system (unknown effects are diagnostics).

    An *external* HTTP read (``curl https://api.example.com/health``) leaves the sandbox, which the policy guards,
    but changes nothing: it is a check, never an action to credit or to decide a drill on.
    """
    if effect != "external" or not command:
        return effect in ACTION_EFFECTS
    return not (_HTTP_READ.search(command) and not _HTTP_WRITE.search(command))


@dataclass(frozen=True)
class CommandResult:
    """One command of one step as the verdict sees it: what the runbook wrote, what the policy and the run did."""

    step: int
    title: str
    as_written: str
    effect: str = "read-only"
    """The runbook classifier's effect value (``Effect.value``); unknown values are diagnostics."""
    decision: Decision = Decision.RUNS
    exit_code: int | None = 0
    output: str = ""
    reason: str = ""
    as_run: str = ""
    line: int = 0
    supplied: bool = False
    """The drill supplied this command for a prose-only step."""
    optional: bool = False
    """The drill marks the step optional: its failure is shown but does not fail the drill."""
    unresolved: tuple[str, ...] = ()
    """Placeholders left in the command as run (nothing bound them)."""
    changed_nothing: bool = False
    """The output says nothing changed (``unchanged``, ``(0 rows)``, ``No resources found``)."""
    fault_age_s: float | None = None
    """Seconds the fault had been active when the command ran (judges time filters)."""
    ended: float = 0.0
    """When it ended, on the drill's stopwatch."""

    @property
    def action(self) -> bool:
        """An action (not a diagnostic, prose or notification)."""
        return is_action(self.effect, self.as_written)

    @property
    def executed(self) -> bool:
        """It ran to the end with exit code 0 (or was stopped at its deadline as a bounded command)."""
        ran = self.decision in (Decision.RUNS, Decision.SUPPLIED, Decision.BOUNDED)
        return ran and (self.exit_code in (0, None) or self.decision is Decision.BOUNDED)

    @property
    def effective_action(self) -> bool:
        """An action that ran successfully: something the restore may be credited to."""
        return (self.action or self.supplied) and self.executed


@dataclass(frozen=True)
class Assessment:
    """What :func:`assess` says about one command."""

    findings: tuple[Finding, ...] = ()
    unrehearsed: Unrehearsed | None = None
    fails: bool = False
    """A required action failed: the drill fails."""


def assess(command: CommandResult, *, fault: str = "") -> Assessment:
    """The findings of one command, whether it was rehearsed, and whether it fails the drill."""
    findings: list[Finding] = []
    unrehearsed: Unrehearsed | None = None
    fails = False
    where = f"step {command.step} ({command.title})"
    code = f"`{_one_line(command.as_written)}`"

    def finding(kind: FindingKind, whose: Whose, message: str, *, counts: bool) -> None:
        findings.append(
            Finding(
                kind=kind,
                step=command.step,
                title=command.title,
                command=command.as_written,
                line=command.line,
                whose=whose,
                message=message,
                counts=counts,
            )
        )

    def skipped(reason: str, *, decisive: bool) -> Unrehearsed:
        return Unrehearsed(
            step=command.step, title=command.title, command=command.as_written, reason=reason, decisive=decisive
        )

    decision = command.decision
    if decision is Decision.MANUAL:
        finding(
            FindingKind.PROSE_ONLY,
            Whose.RUNBOOK,
            f"Runbook: {where} says what to do in words only, so nothing was rehearsed; write the command "
            "the on-call should run.",
            counts=False,
        )
        unrehearsed = skipped("prose only: nothing executable", decisive=False)
    elif decision is Decision.CAPTURED:
        unrehearsed = skipped(f"a notification: {command.reason or 'captured, never sent'}", decisive=False)
    elif command.supplied and command.executed:
        # The runbook only says it in words; what restored service is the drill's command, not the runbook's.
        finding(
            FindingKind.PROSE_ONLY,
            Whose.RUNBOOK,
            f"Runbook: {where} says what to do in words only; the drill supplied "
            f"`{_one_line(command.as_run or command.as_written)}` to rehearse its intent: write the command the "
            "on-call should run into the runbook.",
            counts=True,
        )
    elif decision is Decision.BLOCKED and (command.unresolved or "not bound" in command.reason):
        names = ", ".join(command.unresolved) or "a placeholder"
        finding(
            FindingKind.UNRESOLVED_PLACEHOLDER,
            Whose.RUNBOOK,
            f"Runbook: {where} leaves {names} for the on-call to fill in ({code}); write the real value or "
            "say where to find it (the scenario's bindings.yaml can map it for drills).",
            counts=True,
        )
        unrehearsed = skipped(f"unresolved placeholder {names}", decisive=command.action)
    elif decision is Decision.BLOCKED:
        finding(
            FindingKind.BLOCKED_BY_POLICY,
            Whose.SANDBOX,
            f"Sandbox: drillbook's policy did not run {where} ({command.reason}); nothing is claimed about "
            "this command.",
            counts=False,
        )
        unrehearsed = skipped(f"blocked by policy: {command.reason}", decisive=command.action)
    elif decision is Decision.MISSING_TOOL:
        finding(
            FindingKind.MISSING_TOOL,
            Whose.SANDBOX,
            f"Sandbox: {where} needs a tool the sandbox lacks ({command.reason}); give the scenario that tool "
            "to rehearse it.",
            counts=False,
        )
        unrehearsed = skipped(f"missing tool: {command.reason}", decisive=command.action)
    elif not command.executed:
        fails = _assess_failure(command, where, code, finding)
    elif (age := _filter_age_s(command.as_written)) is not None and (command.fault_age_s or 0.0) < age:
        # It ran, but its filter cannot match anything this young: time compression, not the runbook.
        fault_age = command.fault_age_s or 0.0
        finding(
            FindingKind.NOT_REHEARSABLE,
            Whose.SANDBOX,
            f"Sandbox: {where} filters on {_duration(age)} of age, but the fault was {fault_age:.0f} s old in the "
            "time-compressed sandbox, so the filter cannot match; not rehearsable as written.",
            counts=False,
        )
        unrehearsed = skipped(
            f"its time filter needs {_duration(age)}; the fault was {fault_age:.0f} s old", decisive=command.action
        )
    elif command.action and command.changed_nothing:
        finding(
            FindingKind.NO_EFFECT,
            Whose.RUNBOOK,
            f"Runbook: {where} ran but changed nothing ({_telling_line(command.output)}).",
            counts=False,
        )
    for harm in _HARMS:
        if harm.faults and fault not in harm.faults:
            continue
        if harm.pattern.search(command.as_written) and not (harm.unless and harm.unless.search(command.as_written)):
            finding(FindingKind.HARMFUL, Whose.RUNBOOK, f"Runbook: {where}: {harm.why}.", counts=True)
    return Assessment(tuple(findings), unrehearsed, fails)


def _assess_failure(command: CommandResult, where: str, code: str, finding: _FindingSink) -> bool:
    line = _telling_line(command.output)
    if command.supplied:
        finding(
            FindingKind.INVALID_ACTION,
            Whose.DRILL,
            f"Drill: the command it supplies for {where} failed (exit {command.exit_code}: {line}); fix the feature.",
            counts=True,
        )
        return not command.optional
    if command.action:
        finding(
            FindingKind.INVALID_ACTION,
            Whose.RUNBOOK,
            f"Runbook: {where} is an action and it failed (exit {command.exit_code}: {line}); the on-call "
            "following it gets the same error.",
            counts=True,
        )
        return not command.optional
    if _ROT.search(command.output) and not any(marker in command.output for marker in _TIMING):
        hint = next((text for pattern, text in _HINTS if pattern.search(command.output)), "")
        finding(
            FindingKind.STALE_COMMAND,
            Whose.RUNBOOK,
            f"Runbook: the diagnostic {where} is out of date (exit {command.exit_code}: {line})"
            f"{': ' + hint if hint else ''}; it does not block recovery, but fix it.",
            counts=True,
        )
    return False


class _FindingSink(Protocol):
    def __call__(self, kind: FindingKind, whose: Whose, message: str, *, counts: bool) -> None: ...


@dataclass(frozen=True)
class AlertSeen:
    """One alert the runbook names, as the sandbox's Prometheus evaluated it (``slo/alerts.py``)."""

    name: str
    outcome: str
    """``fired``, ``never-fired``, ``no-data``, ``untranslatable`` or ``query-failed``."""
    detail: str = ""
    """The evaluation's own sentence (``AlertEvaluation.finding``) when it did not fire."""
    line: int = 0
    text: str = ""


_ALERT_KINDS = frozenset({FindingKind.ALERT_NOT_FIRED, FindingKind.ALERT_NO_DATA, FindingKind.ALERT_UNCHECKED})


def alert_findings(alerts: Sequence[AlertSeen]) -> tuple[Finding, ...]:
    """One finding per alert that did not fire; never one that counts against the runbook.

    An alert that never fired under the fault says how faithful the drill was (a compressed outage shorter than
    the rule's ``for``, a fault the rule does not watch), not that the runbook failed; an alert with no data or
    no expression says what the sandbox could not check.
    """
    findings: list[Finding] = []
    for alert in alerts:
        if alert.outcome == "fired":
            continue
        if alert.outcome == "never-fired":
            kind, whose = FindingKind.ALERT_NOT_FIRED, Whose.DRILL
            message = (
                f"Drill: the runbook's alert {alert.name!r} never fired under the fault ({alert.detail}); this is "
                "about the drill's fidelity (the fault, or its compressed length), not the runbook's failure."
            )
        elif alert.outcome == "no-data":
            kind, whose = FindingKind.ALERT_NO_DATA, Whose.SANDBOX
            message = f"Sandbox: {alert.detail}; nothing is claimed about when this alert fires."
        else:
            kind, whose = FindingKind.ALERT_UNCHECKED, Whose.SANDBOX
            message = f"Sandbox: {alert.detail}; nothing is claimed about when this alert fires."
        findings.append(
            Finding(
                kind=kind, step=0, title=alert.name, command=alert.text, line=alert.line, whose=whose,
                message=message, counts=False,
            )
        )  # fmt: skip
    return tuple(findings)


@dataclass(frozen=True)
class Control:
    """The do-nothing control run's outcome for this drill's (system, fault)."""

    self_healed: bool
    window_s: float
    restored_after_s: float | None = None
    cached: bool = False


@dataclass(frozen=True)
class Observations:
    """Everything the verdict depends on, gathered by the drill's phases."""

    target_s: float | None
    """The runbook's *resolution* target (MTTR, time to resolve, RTO); ``None`` for none or a response SLA."""
    target_note: str = ""
    """Why there is no resolution target, when the runbook states only a response SLA."""
    sandbox_error: str | None = None
    fault_not_on_platform: str | None = None
    """Why this platform cannot apply the drill's fault (:class:`~drillbook.errors.FaultNotOnPlatform`)."""
    baseline_held: bool = True
    baseline_detail: str = ""
    breached: bool = False
    breach_wait_s: float = 0.0
    weak_breach: str | None = None
    """Set when the breach had no margin: the worst window and what margin was required."""
    control: Control | None = None
    restored: bool = False
    not_held: str | None = None
    """Set when the SLOs were back at the deadline but had not held long enough."""
    restore_deadline_s: float = 0.0
    time_to_restore_s: float | None = None
    """Seconds from the fault to the restore."""
    response_to_restore_s: float | None = None
    """Seconds from the first step to the restore (the control window and the breach wait left out)."""
    projected_mttr_s: float | None = None
    commands: tuple[CommandResult, ...] = field(default_factory=tuple)
    fault: str = ""
    attribution: str = ""
    """Which action the restore is credited to, in words ("step 4 (Create index)"), or why none."""
    no_effect: tuple[Finding, ...] = ()
    """``no-effect`` findings from the attribution (actions after which the SLOs did not move)."""
    watch_decided: str = ""
    """Why the recovery watch ended before its deadline with the SLOs still breached, when it did: the outcome was
    decided (nothing left could restore them); empty when the watch ran to the deadline or to a held restore."""
    alerts: tuple[AlertSeen, ...] = ()
    """The runbook's alerts as the sandbox's Prometheus evaluated them (findings only, never the verdict)."""
    fault_remains: str = ""
    """Set when the SLOs were restored and held while the fault, a leak, was still deployed: the watch could not
    see whether the restore lasts. Said in the reason; never changes the verdict."""
    host_saturated: str = ""
    """Set when the SLOs stayed breached while the machine running the sandbox was out of CPU
    (:mod:`drillbook.drill.host`): what its cores showed at the end of the watch."""


@dataclass(frozen=True)
class Judgement:
    """A verdict, the sentence that explains it, and the drill's findings and unrehearsed steps."""

    verdict: Verdict
    reason: str
    findings: tuple[Finding, ...] = ()
    unrehearsed: tuple[Unrehearsed, ...] = ()
    outcome: str = ""
    """Recovery in one phrase: restored, restored late, not restored, not held, not attempted, not judged."""


def judge(seen: Observations) -> Judgement:
    """Turn observations into a verdict; the first rule that applies wins (see the module docstring)."""
    assessed = [assess(command, fault=seen.fault) for command in seen.commands]
    findings = tuple(f for a in assessed for f in a.findings) + _new_no_effect(seen.no_effect, assessed)
    findings += alert_findings(seen.alerts)
    unrehearsed = tuple(a.unrehearsed for a in assessed if a.unrehearsed is not None)
    failing = [c for c, a in zip(seen.commands, assessed, strict=True) if a.fails]
    decisive = [u for u in unrehearsed if u.decisive]

    def done(verdict: Verdict, reason: str, outcome: str) -> Judgement:
        return Judgement(verdict, reason, findings, unrehearsed, outcome)

    if seen.sandbox_error is not None:
        return done(Verdict.ERROR, f"the sandbox failed, so nothing was proven: {seen.sandbox_error}", "not judged")
    if seen.fault_not_on_platform is not None:
        return done(
            Verdict.INCONCLUSIVE,
            f"not rehearsed on this platform: {seen.fault_not_on_platform}. Nothing about the runbook was judged",
            "not judged",
        )
    if not seen.baseline_held:
        return done(
            Verdict.INVALID,
            f"the SLOs did not hold before the fault was injected ({seen.baseline_detail}); "
            "fix the scenario's baseline before trusting any verdict",
            "not judged",
        )
    if not seen.breached:
        return done(
            Verdict.VACUOUS,
            f"the fault never breached the SLOs within {seen.breach_wait_s:.0f} s, so the drill proves nothing "
            "about the runbook; make the fault stronger or the traffic heavier",
            "not judged",
        )
    if seen.weak_breach is not None:
        return done(
            Verdict.VACUOUS,
            f"the fault breached only weakly ({seen.weak_breach}), so a do-nothing response could pass or fail by "
            "timing; the drill proves nothing until the fault breaches with margin",
            "not judged",
        )
    if seen.control is not None and seen.control.self_healed:
        after = f" after {seen.control.restored_after_s:.0f} s" if seen.control.restored_after_s is not None else ""
        return done(
            Verdict.VACUOUS,
            f"self-healing: with no response at all the SLOs came back{after} within the "
            f"{seen.control.window_s:.0f} s control window, so the runbook is not credited with the restore",
            "restored without the runbook",
        )
    tail = _tail(findings, unrehearsed)
    if failing:
        first = failing[0]
        steps = _steps(c.step for c in failing)
        return done(
            Verdict.FAILED,
            f"Runbook: {steps} failed: step {first.step} ({first.title}) exited {first.exit_code}: "
            f"{_telling_line(first.output)}: {_code(first.as_written)}.{tail}{_recovery(seen)}",
            _outcome(seen),
        )
    if seen.restored:
        if not any(c.effective_action for c in seen.commands):
            return done(
                Verdict.VACUOUS,
                "the SLOs came back although none of the runbook's actions ran (only diagnostics, prose or "
                f"unrehearsed steps), so the restore is not the runbook's.{tail}",
                "restored without the runbook",
            )
        measured = f"{seen.time_to_restore_s:.0f} s" if seen.time_to_restore_s is not None else "an unknown time"
        if seen.response_to_restore_s is not None and seen.time_to_restore_s is not None:
            measured = (
                f"{seen.response_to_restore_s:.0f} s of response ({seen.time_to_restore_s:.0f} s after the fault)"
            )
        credit = f" by {seen.attribution}" if seen.attribution else ""
        projected = _minutes(seen.projected_mttr_s)
        if seen.target_s is not None and seen.projected_mttr_s is not None and seen.projected_mttr_s > seen.target_s:
            return done(
                Verdict.FAILED,
                f"restored{credit} after {measured} in the sandbox, but the projected MTTR of {projected} exceeds "
                f"the runbook's target of {_minutes(seen.target_s)}.{tail}",
                "restored late",
            )
        target = (
            f", within the target of {_minutes(seen.target_s)}"
            if seen.target_s is not None
            else f" ({seen.target_note or 'the runbook states no resolution target'})"
        )
        head = f"Restored{credit} after {measured} in the sandbox; projected MTTR {projected}{target}."
        if seen.fault_remains:
            head += f" Not rehearsed: whether the restore lasts: {seen.fault_remains}."
        if any(f.counts for f in findings):
            return done(Verdict.PASSED_WITH_FINDINGS, head + tail, "restored")
        return done(Verdict.PASSED, head + tail, "restored")
    if decisive:
        listed = "; ".join(f"step {u.step} ({u.title}): {u.reason}" for u in decisive)
        return done(
            Verdict.INCONCLUSIVE,
            f"the sandbox could not rehearse a step that decides the outcome ({listed}); recovery unknown. "
            f"Give the sandbox what it lacks to judge this runbook.{_tail(findings, ())}",
            "not observed",
        )
    if not any(c.effective_action for c in seen.commands):
        return done(
            Verdict.FAILED,
            "not attempted: the runbook gives no executable remedy for this incident (its steps are diagnostics "
            f"or prose), and {_not_restored(seen)}.{tail}",
            "not attempted",
        )
    if seen.not_held is not None:
        # Back, and still back when the watch ended, only not yet for the hold a flapping signal needs: the watch's
        # length decided this, not the runbook. Say so rather than fail the runbook on drillbook's timing.
        return done(
            Verdict.INCONCLUSIVE,
            f"the runbook's actions ran and the SLOs came back, but the recovery watch ended before the restore "
            f"could be told from a quiet gap of the fault ({seen.not_held}); lengthen the watch "
            f"(restore_within_s) to judge it.{tail}",
            "not observed",
        )
    if seen.host_saturated:
        # The sandbox shares one machine: when the remedy asks for more than it has (20 replicas on 2 cores), the
        # machine, not the system or the runbook, may be what kept the SLOs breached.
        return done(
            Verdict.INCONCLUSIVE,
            f"the runbook's actions ran, but the SLOs were not restored within {seen.restore_deadline_s:.0f} s "
            f"while the machine running the sandbox was out of CPU ({seen.host_saturated}): the sandbox, not the "
            "system, may be what kept them breached; rerun on a machine with more cores, or with fewer users, to "
            f"judge it.{tail}",
            "not observed",
        )
    decided = f" ({seen.watch_decided})" if seen.watch_decided else ""
    return done(
        Verdict.FAILED,
        f"the runbook's actions ran, but the SLOs were not restored within {seen.restore_deadline_s:.0f} s "
        f"after its steps{decided}.{tail}",
        "not restored",
    )


def _not_restored(seen: Observations) -> str:
    """ "the SLOs were not restored within 45 s", or why nothing could restore them when the watch was decided."""
    if seen.watch_decided:
        return f"nothing could restore the SLOs within {seen.restore_deadline_s:.0f} s ({seen.watch_decided})"
    return f"the SLOs were not restored within {seen.restore_deadline_s:.0f} s"


def _new_no_effect(no_effect: Sequence[Finding], assessed: Sequence[Assessment]) -> tuple[Finding, ...]:
    seen = {(f.step, f.command) for a in assessed for f in a.findings if f.kind is FindingKind.NO_EFFECT}
    return tuple(f for f in no_effect if (f.step, f.command) not in seen)


def _tail(findings: Sequence[Finding], unrehearsed: Sequence[Unrehearsed]) -> str:
    """`` Runbook findings: …. Not rehearsed: ….`` — every one of them, by step."""
    parts: list[str] = []
    runbook = [
        f
        for f in findings
        if f.whose is not Whose.SANDBOX and f.kind is not FindingKind.PROSE_ONLY and f.kind not in _ALERT_KINDS
    ]
    if runbook:
        parts.append("Runbook findings: " + _by_kind(runbook) + ".")
    prose = [f for f in findings if f.kind is FindingKind.PROSE_ONLY]
    if prose:
        parts.append("Prose only: " + _steps(f.step for f in prose) + ".")
    if unrehearsed:
        skipped = [u for u in unrehearsed if not u.reason.startswith(("prose only", "a notification"))]
        if skipped:
            parts.append("Not rehearsed: " + "; ".join(f"step {u.step} ({u.reason})" for u in skipped) + ".")
    return (" " + " ".join(parts)) if parts else ""


def _by_kind(findings: Sequence[Finding]) -> str:
    kinds: dict[FindingKind, list[int]] = {}
    for f in findings:
        kinds.setdefault(f.kind, []).append(f.step)
    return "; ".join(f"{kind.value} in {_steps(steps)}" for kind, steps in kinds.items())


def _steps(numbers: Iterable[int]) -> str:
    unique = list(dict.fromkeys(numbers))
    if len(unique) == 1:
        return f"step {unique[0]}"
    return "steps " + ", ".join(str(n) for n in unique[:-1]) + f" and {unique[-1]}"


def _recovery(seen: Observations) -> str:
    if seen.restored:
        return " Recovery: the SLOs came back anyway."
    return " Recovery: not restored."


def _outcome(seen: Observations) -> str:
    if seen.restored:
        return "restored"
    return "not held" if seen.not_held is not None else "not restored"


def _filter_age_s(text: str) -> float | None:
    """The age a ``now() - interval '10 minutes'`` filter requires, in seconds, or ``None``."""
    ages = [float(m.group(1)) * _UNIT_S[m.group(2)[0].lower()] for m in _INTERVAL.finditer(text)]
    return max(ages) if ages else None


def _telling_line(output: str) -> str:
    """The line of a command's output that says why: an error line if there is one, else the last."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    markers = ("FATAL", "ERROR", "Error", "error:", "not found", "refused", "denied", "unchanged", "rows)")
    for line in lines:
        if any(marker in line for marker in markers) and not line.startswith("command terminated"):
            return line[:200]
    return lines[-1][:200] if lines else "(no output)"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code(text: str) -> str:
    """``text`` as one inline code span (a longer fence when the text holds a backtick)."""
    flat = _one_line(text)
    fence = "``" if "`" in flat else "`"
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
