"""A sandbox's bring-up as an ordered list of named actions, each journaled with its undo.

Before an action runs, its undo is stacked and ``started`` is journaled with a replayable description of that undo
(:class:`UndoSpec`); ``finished`` follows with the action's duration and what it learned (a pid, a container id).
Closing runs the undos in reverse, each journaled ``undone`` (or ``undo-failed``) with its duration, also after an
error, Ctrl-C or SIGTERM. So ``bringup.jsonl``, in the sandbox's evidence directory, lists exactly what was done and
not yet undone: ``drillbook cleanup`` replays that after a kill (:mod:`drillbook.platform.replay`), and the drill's
report shows the actions and their seconds (:meth:`BringUp.summary`, :meth:`BringUp.teardown_summary`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from drillbook.journal import JsonValue

FILE = "bringup.jsonl"

Facts = dict[str, JsonValue]
"""What an action learned that its replay needs (``pid``, ``create_time``, ``container``)."""


class ActionEvent(StrEnum):
    """What happened to one bring-up action."""

    SANDBOX = "sandbox"
    """The first line: which process brings this sandbox up (cleanup leaves a live run alone)."""
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    UNDONE = "undone"
    UNDO_FAILED = "undo-failed"


@dataclass(frozen=True)
class UndoSpec:
    """An undo as ``drillbook cleanup`` can replay it from the journal alone: a registered ``kind``, its ``args``
    and the undo in words (``"remove /tmp/drillbook-zephyr-…"``)."""

    kind: str
    what: str
    args: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """One bring-up action: ``run`` acts (a :data:`Facts` dict it returns is journaled for the replay; anything
    else it returns is ignored); ``undo`` reverses it in-process."""

    name: str
    run: Callable[[], object]
    undo: Callable[[], None] | None = None
    replay: UndoSpec | None = None
    """How cleanup undoes it after a kill; ``None`` when nothing of it outlives the run (``undo`` is then all)."""


@dataclass(frozen=True)
class BringUpEvent:
    """One line of ``bringup.jsonl``."""

    event: ActionEvent
    action: str = ""
    ts: float = field(default_factory=time.time)
    seconds: float | None = None
    undo: UndoSpec | None = None
    facts: Facts = field(default_factory=dict)
    error: str = ""
    by: str = "run"
    """``run``, or ``cleanup`` for an undo replayed after a kill."""

    def to_json(self) -> str:
        """One JSON line (without the newline)."""
        data = asdict(self)
        return json.dumps({k: v for k, v in data.items() if v not in (None, "", {})}, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> BringUpEvent:
        """Parse one line.

        Raises:
            ValueError: the line is not a bring-up event.
        """
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            undo = data.get("undo")
            return cls(
                event=ActionEvent(data["event"]),
                action=str(data.get("action", "")),
                ts=float(data.get("ts", 0.0)),
                seconds=None if data.get("seconds") is None else float(data["seconds"]),
                undo=None if undo is None else UndoSpec(str(undo["kind"]), str(undo["what"]), dict(undo["args"])),
                facts=dict(data.get("facts") or {}),
                error=str(data.get("error", "")),
                by=str(data.get("by", "run")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"missing or malformed field: {exc}") from exc


class BringUpJournal:
    """``bringup.jsonl``: append-only, one event a line, flushed to disk as it is written (a kill may follow)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, event: BringUpEvent) -> None:
        """Append ``event`` and sync it."""
        with self.path.open("a", encoding="utf-8") as out:
            out.write(event.to_json() + "\n")
            out.flush()
            os.fsync(out.fileno())

    def read(self, warn: Callable[[str], None] = lambda _: None) -> list[BringUpEvent]:
        """Every event; a line that does not parse is skipped with a warning naming its line."""
        events = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                events.append(BringUpEvent.from_json(line))
            except ValueError as exc:
                warn(f"{self.path}:{number}: skipped a line that is not a bring-up event ({exc})")
        return events


@dataclass
class _Done:
    name: str
    undo: Callable[[], None] | None
    replay: UndoSpec | None


class BringUp:
    """Runs actions in order, journaling each; :meth:`close` undoes them in reverse, journaling each undo.

    ``after_action`` is called with each action's name once it finished (tests inject a failure there).
    """

    def __init__(
        self,
        evidence_dir: Path,
        *,
        platform: str,
        clock: Callable[[], float] = time.monotonic,
        after_action: Callable[[str], None] | None = None,
    ) -> None:
        self.journal = BringUpJournal(evidence_dir / FILE)
        self.clock = clock
        self.after_action = after_action
        self.done: list[_Done] = []
        self.seconds: dict[str, float] = {}
        """Each finished action's seconds, in order."""
        self.undo_seconds: dict[str, float] = {}
        """Each undo's seconds, in the order they ran."""
        self.undo_errors: dict[str, str] = {}
        self.journal.write(BringUpEvent(ActionEvent.SANDBOX, facts={"pid": os.getpid(), "platform": platform}))

    def run(self, action: Action) -> Facts:
        """Journal and stack the undo, then run the action; a failure is journaled and re-raised."""
        self.journal.write(BringUpEvent(ActionEvent.STARTED, action.name, undo=action.replay))
        self.done.append(_Done(action.name, action.undo, action.replay))
        began = self.clock()
        try:
            result = action.run()
        except BaseException as exc:
            seconds = self.clock() - began
            self.journal.write(BringUpEvent(ActionEvent.FAILED, action.name, seconds=seconds, error=_words(exc)))
            raise
        seconds = self.clock() - began
        facts: Facts = result if isinstance(result, dict) else {}
        self.seconds[action.name] = seconds
        self.journal.write(BringUpEvent(ActionEvent.FINISHED, action.name, seconds=seconds, facts=facts))
        if self.after_action is not None:
            self.after_action(action.name)
        return facts

    def run_all(self, actions: Sequence[Action]) -> None:
        """Run every action in order; on any failure (Ctrl-C included) undo what was done, then re-raise."""
        try:
            for action in actions:
                self.run(action)
        except BaseException as exc:
            self.close()
            with contextlib.suppress(Exception):
                exc.add_note(f"bring-up: {self.summary()}; undone: {self.teardown_summary()}")
            raise

    def close(self) -> None:
        """Run every undo, in reverse, even when one fails; the first failure is raised after the rest ran."""
        failure: BaseException | None = None
        while self.done:
            done = self.done.pop()
            if done.undo is None:
                continue
            began = self.clock()
            try:
                done.undo()
            except BaseException as exc:  # re-raised below, once the other undos ran
                failure = failure or exc
                self.undo_errors[done.name] = _words(exc)
                event = BringUpEvent(
                    ActionEvent.UNDO_FAILED, done.name, seconds=self.clock() - began, error=_words(exc)
                )
            else:
                event = BringUpEvent(ActionEvent.UNDONE, done.name, seconds=self.clock() - began)
            self.undo_seconds[done.name] = event.seconds or 0.0
            with contextlib.suppress(OSError):  # a full disk must not stop the other undos
                self.journal.write(event)
        if failure is not None:
            raise failure

    def summary(self) -> str:
        """The actions in words: ``cluster 2.1 s, fault proxy 0.3 s, deploy 1.2 s``."""
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items()) or "no action finished"

    def teardown_summary(self) -> str:
        """The undos run so far, in the order they ran, each with its seconds (and its failure, if it failed)."""
        if not self.undo_seconds:
            return "nothing undone yet"
        return ", ".join(
            f"{name} {seconds:.1f} s" + (f" (FAILED: {self.undo_errors[name]})" if name in self.undo_errors else "")
            for name, seconds in self.undo_seconds.items()
        )


def _words(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def process_facts(pid: int | None) -> Facts:
    """A process's identity for the replay: its pid and start time (a reused pid is told apart by the latter)."""
    if pid is None:
        return {}
    import psutil

    try:
        return {"pid": pid, "create_time": psutil.Process(pid).create_time()}
    except psutil.Error:
        return {"pid": pid}


def pending_undos(events: Sequence[BringUpEvent]) -> list[tuple[str, UndoSpec | None, Facts]]:
    """What a journal says was started and never undone, newest first: (action, replayable undo, its facts)."""
    started: dict[str, tuple[UndoSpec | None, Facts]] = {}
    for event in events:
        if event.event is ActionEvent.STARTED:
            started[event.action] = (event.undo, {})
        elif event.event is ActionEvent.FINISHED and event.action in started:
            started[event.action] = (started[event.action][0], dict(event.facts))
        elif event.event is ActionEvent.UNDONE:
            started.pop(event.action, None)
    return [(name, undo, facts) for name, (undo, facts) in reversed(list(started.items()))]


def runner_pid(events: Sequence[BringUpEvent]) -> int | None:
    """The pid of the process that brought the sandbox up, as its journal's first line says."""
    for event in events:
        if event.event is ActionEvent.SANDBOX:
            pid: Any = event.facts.get("pid")
            return int(pid) if isinstance(pid, int) else None
    return None
