"""Commands that run on by design: started in the background, waited on until ready, ended when the steps end.

A runbook's ``kubectl port-forward svc/prometheus 9090`` (or ``kubectl proxy``, or any line ending in ``&``)
serves the steps after it: ``curl -s http://localhost:9090/…`` in the next step needs it still running. Such a
command is started inside the same containment as every other step (own process group, parent-death signal,
the unprivileged step user, the loopback-only firewall), the executor waits until it says it is ready (kubectl's
``Forwarding from 127.0.0.1:N`` line, or its port accepting) and goes on; :meth:`Background.end_all` ends it
when the incident's steps end, also on failure or interrupt. A SIGKILLed runner takes it along through the
parent-death signal and the command's PID namespace; ``drillbook cleanup`` finds whatever an uncontained run
left by the marker variable each one carries (:func:`reap`).

The runbook's local port is on this machine's loopback, shared with everything else here: when another process
holds it, the step cannot be rehearsed, and that is said as the sandbox's limit, never as the runbook's failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from drillbook.execute.contacts import is_loopback
from drillbook.execute.shell import split_parts
from drillbook.processes import pid_alive

READY_WITHIN_S = 30.0
"""How long a background command may take to say it is ready: kubectl's version dispatch and API discovery take
a few seconds on a loaded 2-core machine; a port-forward that needs longer is not coming."""
SETTLE_S = 1.0
"""A backgrounded command with no sign of readiness (``./serve.sh &``) that still runs after this has started."""
POLL_S = 0.05
MARKER = "DRILLBOOK_BACKGROUND"
"""Variable every background command (and whatever it starts) carries: how ``drillbook cleanup`` finds them."""
RECORDS = "background.jsonl"
"""One line per background command started, in the executor's work dir (read by :func:`reap`)."""
KUBECTL_PROXY_PORT = 8001

_READY = re.compile(r"^(?:Forwarding from|Starting to serve on) (?:\[[^\]]+\]|[^\s:]+):(?P<port>\d+)", re.MULTILINE)
_BUSY = re.compile(r"address already in use|unable to listen on any of the requested ports", re.IGNORECASE)
_SHELL_NOISE = frozenset({"Terminated", "Killed"})
"""What the contained shell says of its ended child: not the command's own words."""
_LOCAL_TARGET = re.compile(r"(?:localhost|127\.0\.0\.1|\[::1\]):(\d+)")


class Handle(Protocol):
    """A started background command."""

    @property
    def pid(self) -> int:
        """Its process (and process group) id."""
        ...

    def poll(self) -> int | None:
        """Its exit code, or ``None`` while it runs."""
        ...

    def output(self) -> str:
        """What it printed so far (stdout and stderr)."""
        ...

    def end(self) -> int | None:
        """End its process group (SIGTERM, SIGKILL after a grace period); its exit code."""
        ...


Spawn = Callable[[str, Mapping[str, str]], Handle]
"""Start a command line with extra environment variables, contained like every step."""


class Clock(Protocol):
    """Wall time for outcomes, a stopwatch for waits, and sleeping between polls (a fake one in tests)."""

    def time(self) -> float: ...
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class _SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Came(StrEnum):
    """What starting a background command came to."""

    READY = "ready"
    """It is running and ready (or, with no sign to wait for, still running after :data:`SETTLE_S`)."""
    EXITED = "exited"
    """It ended before it was ready: an ordinary command outcome (its exit code and output)."""
    PORT_BUSY = "port_busy"
    """Its local port is held by another process on this machine: the sandbox's limit."""
    NOT_READY = "not_ready"
    """It ran but never said it was ready within :data:`READY_WITHIN_S`; it was ended."""


@dataclass(frozen=True)
class Started:
    """The outcome of starting one background command."""

    came: Came
    detail: str
    output: str
    started: float
    ended: float
    exit_code: int | None = None


@dataclass(frozen=True)
class Ended:
    """A background command, ended when the incident's steps ended (or found already gone then)."""

    step: int
    as_written: str
    as_run: str
    started: float
    ready: float
    ended: float
    exit_code: int | None
    output: str
    by_itself: bool
    """It had exited before the steps ended (a port-forward whose pod went away)."""

    def describe(self) -> str:
        """One sentence for the journal and the report."""
        ran = f"ran in the background for {max(0.0, self.ended - self.started):.1f} s"
        ready = f"(ready after {max(0.0, self.ready - self.started):.1f} s)"
        how = (
            f"but had already exited by itself (exit {self.exit_code}) when the incident's steps ended"
            if self.by_itself
            else "and was ended when the incident's steps ended"
        )
        lines = [line.strip() for line in self.output.splitlines()]
        last = next((line for line in reversed(lines) if line and line not in _SHELL_NOISE), "")
        said = f"; its last line: {last[:200]}" if last else ""
        return f"step {self.step}: `{_one_line(self.as_written)}` {ran} {ready} {how}{said}"


@dataclass
class _Running:
    step: int
    as_written: str
    as_run: str
    handle: Handle
    started: float
    ready: float


@dataclass(frozen=True)
class Forward:
    """What a background command will serve on this machine's loopback."""

    ports: tuple[int, ...] = ()
    """Local ports it binds (a port-forward's ``8080:80``, ``kubectl proxy``'s 8001); none for a random one."""
    says_ready: bool = False
    """It prints a line when it listens (kubectl's ``Forwarding from …`` / ``Starting to serve on …``)."""


def forward_of(text: str) -> Forward:
    """The local ports a command line's ``kubectl port-forward``/``kubectl proxy`` binds."""
    ports: list[int] = []
    says = False
    for part in split_parts(text):
        if part.program != "kubectl":
            continue
        args = list(part.args)
        verb = next((a for a in args if not a.startswith("-")), "")
        if verb == "port-forward":
            says = True
            valued = {"-n", "--namespace", "--address", "--pod-running-timeout"}
            positional = _positional(args[args.index(verb) + 1 :], valued)
            for spec in positional[1:]:  # the first is the pod/service
                local = spec.split(":", 1)[0]
                if local.isdigit():
                    ports.append(int(local))
        elif verb == "proxy":
            says = True
            port = _flag_value(args, ("--port", "-p"))
            if port is None:
                ports.append(KUBECTL_PROXY_PORT)
            elif port.isdigit() and int(port) != 0:
                ports.append(int(port))
    return Forward(tuple(dict.fromkeys(ports)), says)


def loopback_only(text: str) -> tuple[str, str]:
    """The line with every ``--address`` of a port-forward/proxy narrowed to loopback, and what was changed.

    A runbook's ``--address 0.0.0.0`` would open the sandbox to the network; its own follow-up
    ``curl localhost:…`` works the same on loopback, so it runs there, and the report says so.
    """
    changed: list[str] = []

    def narrow(match: re.Match[str]) -> str:
        addresses = [a for a in match.group("value").strip("'\"").split(",") if a]
        if all(is_loopback(a) for a in addresses):
            return match.group(0)
        changed.append(match.group("value"))
        return f"{match.group('flag')}{match.group('sep')}localhost"

    pattern = r"(?P<flag>--address)(?P<sep>=|\s+)(?P<value>'[^']*'|\"[^\"]*\"|\S+)"
    narrowed = re.sub(pattern, narrow, text)
    if not changed:
        return text, ""
    return narrowed, f"--address {', '.join(changed)} narrowed to localhost: the sandbox binds loopback only"


def without_trailing_ampersand(text: str) -> str:
    """``cmd &`` as ``cmd``: drillbook itself keeps it running (a shell's ``&`` would end with that shell)."""
    stripped = text.rstrip()
    return stripped[:-1].rstrip() if stripped.endswith("&") and not stripped.endswith("&&") else text


def port_free(port: int) -> bool:
    """Nothing on this machine holds ``port`` on 127.0.0.1 (probed by binding it, never listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Background:
    """The background commands of one run's steps.

    Args:
        spawn: Starts a command line, contained like every step (see :func:`drillbook.execute.runner.spawn`).
        records: File to append a line per started command to, for ``drillbook cleanup`` (``None``: none kept).
    """

    spawn: Spawn
    records: Path | None = None
    clock: Clock = field(default_factory=_SystemClock)
    port_free: Callable[[int], bool] = port_free
    ready_within_s: float = READY_WITHIN_S
    settle_s: float = SETTLE_S
    running: list[_Running] = field(default_factory=list)
    busy_ports: dict[int, int] = field(default_factory=dict)
    """Local port → the step whose background command found it held by another process."""

    def start(self, as_run: str, *, step: int, as_written: str) -> Started:
        """Start ``as_run`` in the background and wait until it is ready, it ends, or the wait runs out."""
        started = self.clock.time()
        forward = forward_of(as_run)
        busy = [port for port in forward.ports if not self.port_free(port)]
        if busy:
            return self._port_busy(busy, step, "", started)
        marker = secrets.token_hex(8)
        handle = self.spawn(without_trailing_ampersand(as_run), {MARKER: marker})
        self._record(handle.pid, marker, as_run)
        came, detail = self._await_ready(handle, forward)
        output = handle.output()
        if came is Came.READY:
            self.running.append(_Running(step, as_written, as_run, handle, started, self.clock.time()))
            return Started(came, detail, output, started, self.clock.time())
        exit_code = handle.poll() if came is Came.EXITED else handle.end()
        if came is Came.EXITED and _BUSY.search(output):
            return self._port_busy(list(forward.ports), step, output, started, exit_code)
        return Started(came, detail, output, started, self.clock.time(), exit_code)

    def end_all(self) -> list[Ended]:
        """End every command still running, newest first; say how each one ended."""
        ended: list[Ended] = []
        while self.running:
            entry = self.running.pop()
            exit_code = entry.handle.poll()
            by_itself = exit_code is not None
            if not by_itself:
                exit_code = entry.handle.end()
            ended.append(
                Ended(
                    step=entry.step,
                    as_written=entry.as_written,
                    as_run=entry.as_run,
                    started=entry.started,
                    ready=entry.ready,
                    ended=self.clock.time(),
                    exit_code=exit_code,
                    output=entry.handle.output(),
                    by_itself=by_itself,
                )
            )
        return ended

    def foreign_port(self, as_run: str) -> tuple[int, int] | None:
        """``(port, step)`` when the command reaches a local port whose port-forward found it held by another
        process: what answers there is not the sandbox."""
        for match in _LOCAL_TARGET.finditer(as_run):
            port = int(match.group(1))
            if port in self.busy_ports:
                return port, self.busy_ports[port]
        return None

    def _await_ready(self, handle: Handle, forward: Forward) -> tuple[Came, str]:
        begin = self.clock.monotonic()
        wait = self.ready_within_s if (forward.says_ready or forward.ports) else self.settle_s
        while True:
            output = handle.output()
            sign = _READY.search(output)
            if sign is not None:
                return Came.READY, f"ready: {sign.group(0).strip()}"
            if forward.ports and not forward.says_ready and not self.port_free(forward.ports[0]):
                return Came.READY, f"ready: it holds port {forward.ports[0]}"
            exit_code = handle.poll()
            if exit_code is not None:
                return Came.EXITED, f"ended before it was ready (exit {exit_code})"
            if self.clock.monotonic() - begin >= wait:
                if not (forward.says_ready or forward.ports):
                    return Came.READY, f"still running after {self.settle_s:.0f} s (it gives no sign of readiness)"
                return Came.NOT_READY, (
                    f"did not say it was ready within {self.ready_within_s:.0f} s (no 'Forwarding from' line); ended it"
                )
            self.clock.sleep(POLL_S)

    def _port_busy(
        self, ports: Sequence[int], step: int, output: str, started: float, exit_code: int | None = None
    ) -> Started:
        for port in ports:
            self.busy_ports.setdefault(port, step)
        listed = ", ".join(str(p) for p in ports) or "its local port"
        detail = (
            f"sandbox limit: local port {listed} on this machine's loopback is held by another process, so the "
            "runbook's forward could not be rehearsed here (nothing is claimed about this step; run the drill "
            "where the port is free)"
        )
        return Started(Came.PORT_BUSY, detail, output, started, self.clock.time(), exit_code)

    def _record(self, pid: int, marker: str, as_run: str) -> None:
        if self.records is None:
            return
        line = json.dumps({"pid": pid, "runner": os.getpid(), "marker": marker, "command": as_run[:500]})
        with self.records.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def reap(run_dir: Path, say: Callable[[str], None] = print) -> int:
    """End what the background commands of a dead run left running; return how many processes were ended.

    A process is ended only when it carries the marker variable one of the run's records names and the run that
    started it is gone: a live run's commands, and every other process, are left alone.
    """
    markers: dict[str, str] = {}
    for path in sorted(run_dir.rglob(RECORDS)):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                entry = json.loads(line)
                if not pid_alive(int(entry["runner"])):
                    markers[f"{MARKER}={entry['marker']}"] = str(entry["command"])
    if not markers:
        return 0
    ended = 0
    for pid, marker in _marked_processes(set(markers)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            ended += 1
            say(f"ended process {pid} left by a dead run's background command `{_one_line(markers[marker])}`")
    return ended


def _marked_processes(markers: set[str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            text = item.decode(errors="replace")
            if text in markers:
                found.append((int(entry.name), text))
                break
    return found


def _positional(args: Sequence[str], valued: set[str]) -> list[str]:
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--":
            break
        elif arg.startswith("-"):
            skip = "=" not in arg and arg in valued
        else:
            words.append(arg)
    return words


def _flag_value(args: Sequence[str], names: tuple[str, ...]) -> str | None:
    for index, arg in enumerate(args):
        name, equals, value = arg.partition("=")
        if name in names:
            return value if equals else (args[index + 1] if index + 1 < len(args) else "")
    return None


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 120 else line[:117] + "…"
