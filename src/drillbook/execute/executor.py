"""The step executor: an incident step's commands, verbatim, through bindings and policy, into a shell."""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from drillbook.errors import UsageError
from drillbook.execute import background, containment, kubeconfig, policy, repl, runner
from drillbook.execute.bindings import Bindings, Resolver, SandboxView
from drillbook.execute.contacts import is_loopback
from drillbook.journal import Decision
from drillbook.runbook.model import Command, Effect, Step

DEFAULT_DEADLINE_S = 60.0
"""A runbook command's deadline in a drill, unless its own ``--timeout`` asks for longer (see
:func:`drillbook.execute.policy.command_deadline`)."""


@dataclass(frozen=True)
class Outcome:
    """One command of a step: as written, as run, the policy's decision, and what happened."""

    as_written: str
    as_run: str
    decision: Decision
    exit_code: int | None
    output: str
    started: float
    ended: float
    reason: str = ""
    supplied_by_drill: bool = False
    line: int = 0

    @property
    def duration(self) -> float:
        """Seconds the command ran (0 for one the policy did not let run)."""
        return max(0.0, self.ended - self.started)


class StepExecutor:
    """Runs runbook steps against one sandbox."""

    def __init__(
        self,
        *,
        view: SandboxView,
        workdir: Path,
        bindings: Bindings | None = None,
        deadline_s: float = DEFAULT_DEADLINE_S,
        bounded_s: float = policy.BOUNDED_DEADLINE_S,
        max_deadline_s: float = policy.MAX_COMMAND_DEADLINE_S,
    ) -> None:
        self.view = view
        self.bindings = bindings or Bindings()
        self.resolver = Resolver(self.bindings, view)
        self.workdir = workdir
        self.deadline_s = deadline_s
        self.bounded_s = bounded_s
        self.max_deadline_s = max_deadline_s
        """A command's own ``--timeout`` extends its deadline up to this (the drill's maximum per command)."""
        self.tool_dirs = view.tool_dirs()
        self._containment: containment.Containment | None = None
        self.shims = runner.make_shims(workdir / "shims", self.tool_dirs)
        self._pinned: dict[str, kubeconfig.Pinned | None] = {}
        self._prepared = False
        self.background = background.Background(spawn=self._spawn, records=workdir / background.RECORDS)
        """Commands that run on by design (``kubectl port-forward``): ended by :meth:`end_background`."""

    @property
    def containment(self) -> containment.Containment:
        """How commands are held (set up on first use; refused when the OS cannot contain and no opt-in)."""
        if self._containment is None:
            self._containment = containment.containment()
        return self._containment

    @property
    def root(self) -> Path:
        """The work dir as commands see it."""
        return Path(containment.STEP_ROOT) if self.containment.contained else self.workdir

    def _prepare(self) -> None:
        """The step user's own dirs in the work dir (on the first command that runs; a dry run makes none)."""
        if self._prepared:
            return
        self.workdir.chmod(0o755)  # the step user reaches its dirs through it; it writes only in those
        for name in ("cwd", "home", "kube", "kube/cache"):
            (self.workdir / name).mkdir(parents=True, exist_ok=True)
            self.containment.own(self.workdir / name)
        self._prepared = True

    def environment(self) -> dict[str, str]:
        """The shell environment: shims first on PATH, the sandbox's variables and bound ``$VAR``s, a throwaway HOME,
        and a kubeconfig holding the sandbox's context only."""
        path = ":".join([str(self.root / "shims"), *(str(d) for d in self.tool_dirs)])
        # GIT_CEILING_DIRECTORIES: a runbook's `git log`/`git diff` must not find a repository above the workdir.
        base = {"PATH": path, "HOME": str(self.root / "home"), "LANG": "C.UTF-8", "TERM": "dumb"}
        sandbox = {**self.view.env(), **self.resolver.environment()}
        if "KUBECONFIG" in sandbox:
            self._prepare()
            self._pin(sandbox["KUBECONFIG"])
            sandbox["KUBECONFIG"] = str(self.root / "kube" / "config")
            sandbox["KUBECACHEDIR"] = str(self.root / "kube" / "cache")
        return {**base, "GIT_CEILING_DIRECTORIES": str(self.root), **sandbox}

    def _pin(self, source: str) -> None:
        """The sandbox's kubeconfig, cut to its one context, as the step user's own (once per source)."""
        if source in self._pinned:
            return
        dest = self.workdir / "kube" / "config"
        owner = (self.containment.uid, self.containment.gid)
        try:
            pinned = kubeconfig.pin(
                Path(source.split(os.pathsep, maxsplit=1)[0]),
                dest,
                owner=owner if None not in owner else None,  # type: ignore[arg-type]
            )
        except UsageError:
            dest.unlink(missing_ok=True)  # kubectl then finds no cluster at all, never the user's own
            self._pinned[source] = None
            return
        self._pinned[source] = pinned
        host, port = pinned.address
        if host and not is_loopback(host):  # a real cluster's API server: the one non-loopback address allowed
            for address in _addresses(host, port):
                self.containment.allow(address, port)

    def run_step(
        self, step: Step, *, branch: str | None = None, supplied: str | None = None, dry_run: bool = False
    ) -> list[Outcome]:
        """Run every command of the step in order (a prose-only step runs the drill's supplied command).

        When the step offers alternatives ("Option 1/2/3"), only ``branch`` runs (default: the first offered),
        with the commands that belong to no option. ``dry_run`` decides every command as it would run
        (bindings applied, policy judged) without running any.
        """
        run = functools.partial(self._run, dry_run=dry_run, step=step.number)
        offered = [c.branch for c in step.commands if c.branch]
        if branch is not None and offered and branch.casefold() not in {o.casefold() for o in offered}:
            raise UsageError(
                f"step {step.number} ({step.title!r}) offers {', '.join(dict.fromkeys(offered))}; got branch {branch!r}"
            )
        in_branch: list[Command | None] = list(_on_branch(step.commands, branch))
        if not in_branch:
            in_branch = [None]  # a step with no command at all is prose only
        outcomes: list[Outcome] = []
        pending = supplied
        if pending is not None and all(c is not None and c.effect is not Effect.MANUAL for c in in_branch):
            outcomes.append(run(pending, (), supplied_by_drill=True, line=step.line))
            pending = None
        sessions = repl.Sessions()
        for command in in_branch:
            if command is None or command.effect is Effect.MANUAL:
                if pending is not None:  # the drill's command stands in for the prose
                    outcomes.append(run(pending, (), supplied_by_drill=True, line=step.line))
                    pending = None
                    continue
                text = command.text if command is not None else step.title
                reason = "prose only: not executable (a drill may supply a command for this step)"
                line = command.line if command is not None else step.line
                outcomes.append(Outcome(text, "", Decision.MANUAL, None, "", _now(), _now(), reason, line=line))
                continue
            if command.effect is Effect.NOTIFICATION and command.language == "prose":
                judgement = policy.judge_notification(command.text)
                outcomes.append(
                    Outcome(command.text, "", judgement.decision, None, judgement.payload, _now(), _now(),
                            judgement.reason, line=command.line)
                )  # fmt: skip
                continue
            check = sessions.open(command)
            if check is not None:  # psql/redis-cli/mongosh with nothing to run: where the lines below are typed
                outcomes.append(run(check, command.placeholders, written=command))
                continue
            typed = sessions.feed(command)
            if isinstance(typed, repl.Unreachable):  # typed where the sandbox cannot go: never run here instead
                outcomes.append(self._unreachable(command, typed))
                continue
            if typed is not None:  # a line typed into a REPL or a pod's shell runs there, never on this machine
                opener = sessions.opener(command)
                outcomes.append(run(typed, command.placeholders + _placeholders_of(opener), written=command))
                continue
            outcomes.append(run(command.text, command.placeholders, written=command))
        return outcomes

    def _run(
        self,
        text: str,
        placeholders: tuple[str, ...],
        *,
        written: Command | None = None,
        supplied_by_drill: bool = False,
        line: int = 0,
        dry_run: bool = False,
        step: int = 0,
    ) -> Outcome:
        as_written = written.text if written is not None else text
        rewrite = self.resolver.rewrite(text, placeholders)
        judgement = policy.judge(rewrite.as_run, rewrite.unresolved, self.tool_dirs)
        judgement = self._not_a_foreign_port(rewrite.as_run, judgement)
        decision = (
            Decision.SUPPLIED if supplied_by_drill and judgement.decision is Decision.RUNS else judgement.decision
        )
        reason = "; ".join([judgement.reason, *rewrite.problems]).strip("; ")
        line = written.line if written is not None else line
        if dry_run or judgement.decision not in (Decision.RUNS, Decision.BOUNDED):
            now = _now()
            output = judgement.payload
            return Outcome(
                as_written, rewrite.as_run, decision, None, output, now, now, reason, supplied_by_drill, line
            )
        bounded = judgement.decision is Decision.BOUNDED
        deadline_s, why = policy.command_deadline(rewrite.as_run, self.deadline_s, self.max_deadline_s)
        self._prepare()
        as_run, narrowed = rewrite.as_run, ""
        if background.forward_of(as_run).says_ready:
            as_run, narrowed = background.loopback_only(as_run)
            reason = "; ".join(r for r in (reason, narrowed) if r)
        if judgement.lasting is policy.Lasting.BACKGROUND:
            notes = "; ".join(r for r in (*rewrite.problems, narrowed) if r)
            return self._start_background(
                as_written, as_run, step=step, notes=notes, supplied=supplied_by_drill, line=line
            )
        done = runner.run(
            as_run,
            env=self.environment(),
            cwd=self.workdir / "cwd",
            deadline_s=self.bounded_s if bounded else deadline_s,
            containment=self.containment,
            workdir=self.workdir,
        )
        exit_code = done.exit_code
        if done.timed_out and not bounded:
            exit_code = 124
            reason = f"did not finish within {deadline_s:.0f} s" + (f" ({why})" if why else "")
        return Outcome(
            as_written, as_run, decision, exit_code, done.output, done.started, done.ended, reason,
            supplied_by_drill, line,
        )  # fmt: skip

    def _unreachable(self, command: Command, gone: repl.Unreachable) -> Outcome:
        """A line typed into a session the sandbox cannot replay: judged as itself (a notification is captured, a
        destructive or outward line blocked, as on this machine), otherwise not rehearsable; never run."""
        now = _now()
        inner = policy.judge(command.text, (), self.tool_dirs)
        if inner.decision in (Decision.BLOCKED, Decision.CAPTURED):
            reason = f"{inner.reason} ({gone.reason})"
            return Outcome(command.text, "", inner.decision, None, inner.payload, now, now, reason, line=command.line)
        gate = policy.judge(gone.opener, (), self.tool_dirs) if gone.opener else None
        decision = Decision.BLOCKED
        reason = f"not rehearsable: {gone.reason}; never run on this machine instead"
        if gate is not None and gate.decision in (Decision.BLOCKED, Decision.MISSING_TOOL):
            decision = gate.decision
            reason = f"not rehearsable: {gone.reason} ({gate.reason}); never run on this machine instead"
        return Outcome(command.text, "", decision, None, "", now, now, reason, line=command.line)

    # -- commands that run on by design (kubectl port-forward, `… &`) -----------------------------------

    def end_background(self) -> list[background.Ended]:
        """End the commands left running in the background (when the incident's steps end); say how each ended."""
        return self.background.end_all()

    def close(self) -> None:
        """End whatever still runs in the background."""
        self.end_background()

    def _start_background(
        self, as_written: str, as_run: str, *, step: int, notes: str, supplied: bool, line: int
    ) -> Outcome:
        started = self.background.start(as_run, step=step, as_written=as_written)
        came = started.came
        if came is background.Came.READY:
            decision, why = Decision.BOUNDED, f"backgrounded ({started.detail}); runs on until the incident's steps end"
        elif came is background.Came.PORT_BUSY:
            decision, why = Decision.BLOCKED, started.detail
        else:  # it ended (or never got ready): an ordinary outcome, judged by its exit code
            decision = Decision.SUPPLIED if supplied else Decision.RUNS
            why = started.detail
        exit_code = 124 if came is background.Came.NOT_READY else started.exit_code
        return Outcome(
            as_written, as_run, decision, exit_code, started.output, started.started, started.ended,
            "; ".join(r for r in (why, notes) if r), supplied, line,
        )  # fmt: skip

    def _spawn(self, command: str, extra: Mapping[str, str]) -> runner.Spawned:
        count = len(list((self.workdir / "background").glob("*.log"))) if (self.workdir / "background").is_dir() else 0
        return runner.spawn(
            command,
            env={**self.environment(), **extra},
            cwd=self.workdir / "cwd",
            log=self.workdir / "background" / f"{count + 1}.log",
            containment=self.containment,
            workdir=self.workdir,
        )

    def _not_a_foreign_port(self, as_run: str, judgement: policy.Judgement) -> policy.Judgement:
        """Block a command that would reach a local port another process holds (its port-forward could not bind it):
        what answers there is not the sandbox."""
        if judgement.decision not in (Decision.RUNS, Decision.BOUNDED):
            return judgement
        foreign = self.background.foreign_port(as_run)
        if foreign is None:
            return judgement
        port, step = foreign
        return policy.Judgement(
            Decision.BLOCKED,
            f"sandbox limit: localhost:{port} is another process's on this machine (step {step}'s port-forward "
            "could not bind it), so what answers there is not the sandbox",
        )


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


def _on_branch(commands: tuple[Command, ...], branch: str | None) -> list[Command]:
    """The commands of the chosen branch ("Option 2"), default the first; unlabelled commands always run."""
    labels = [c.branch for c in commands if c.branch]
    if not labels:
        return list(commands)
    chosen = branch if branch is not None else labels[0]
    wanted = chosen.casefold()
    return [c for c in commands if c.branch is None or c.branch.casefold() == wanted]


def _placeholders_of(text: str) -> tuple[str, ...]:
    from drillbook.runbook.commands import placeholders

    return placeholders(text)


def _now() -> float:
    import time

    return time.time()
