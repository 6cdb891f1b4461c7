"""Commands that run on by design: how the policy tells them apart, and their life from start to the steps' end.

Unit tier: a fake clock and fake processes; the real thing is in ``test_execute_portforward_drill.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drillbook.execute import policy
from drillbook.execute.background import (
    MARKER,
    Background,
    Came,
    forward_of,
    loopback_only,
    without_trailing_ampersand,
)
from drillbook.execute.executor import StepExecutor
from drillbook.journal import Decision
from drillbook.runbook.model import Command, Effect, Step

TOOLS = [Path("/usr/bin"), Path("/bin")]


@pytest.mark.parametrize(
    ("command", "lasting"),
    [
        ("kubectl port-forward -n monitoring svc/prometheus 9090:9090", policy.Lasting.BACKGROUND),
        ("kubectl port-forward pod/api-7d9 8080", policy.Lasting.BACKGROUND),
        ("kubectl proxy --port=8001", policy.Lasting.BACKGROUND),
        ("sleep 300 &", policy.Lasting.BACKGROUND),
        ("kubectl logs -f deploy/api -n production", policy.Lasting.OBSERVE),
        ("kubectl get pods -w", policy.Lasting.OBSERVE),
        ("tail -f /var/log/syslog", policy.Lasting.OBSERVE),
        ("watch kubectl get pods", policy.Lasting.OBSERVE),
    ],
)
def test_never_ending_commands_are_told_apart_as_background_or_observed(command: str, lasting: policy.Lasting) -> None:
    judgement = policy.judge(command, (), TOOLS)
    assert judgement.decision is Decision.BOUNDED
    assert judgement.lasting is lasting


def test_a_port_forward_sent_to_the_background_inside_one_line_ends_with_that_line() -> None:
    judgement = policy.judge("kubectl port-forward svc/api 8080:80 & sleep 2; curl -s localhost:8080/health", (), TOOLS)
    assert judgement.decision is Decision.RUNS
    assert judgement.lasting is None


def test_an_and_list_or_a_redirection_is_not_a_trailing_ampersand() -> None:
    assert policy.judge("true && echo ok", (), TOOLS).lasting is None
    assert without_trailing_ampersand("echo ok &&") == "echo ok &&"
    assert without_trailing_ampersand("kubectl port-forward svc/api 8080 & ") == "kubectl port-forward svc/api 8080"


def test_psql_minus_w_after_kubectl_exec_is_not_a_watch() -> None:
    judgement = policy.judge("kubectl exec deploy/db -- psql -w -c 'select 1'", (), TOOLS)
    assert judgement.lasting is None


@pytest.mark.parametrize(
    ("command", "ports"),
    [
        ("kubectl port-forward svc/prometheus 9090:9090", (9090,)),
        ("kubectl port-forward -n production deploy/api 8080 9091:9090", (8080, 9091)),
        ("kubectl port-forward --address 127.0.0.1 pod/api :80", ()),
        ("kubectl proxy", (8001,)),
        ("kubectl proxy --port 8011", (8011,)),
    ],
)
def test_the_local_ports_of_a_forward_are_read_from_its_arguments(command: str, ports: tuple[int, ...]) -> None:
    forward = forward_of(command)
    assert forward.ports == ports
    assert forward.says_ready


def test_an_address_beyond_loopback_is_narrowed_and_the_change_is_said() -> None:
    narrowed, why = loopback_only("kubectl port-forward --address 0.0.0.0 svc/api 8080:80")
    assert narrowed == "kubectl port-forward --address localhost svc/api 8080:80"
    assert "0.0.0.0" in why
    assert "loopback" in why
    assert loopback_only("kubectl port-forward --address=127.0.0.1,::1 svc/api 8080") == (
        "kubectl port-forward --address=127.0.0.1,::1 svc/api 8080",
        "",
    )


# -- the lifecycle, on fakes ---------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeProcess:
    """A process that prints ``lines`` at the given clock times and exits at ``exits_at`` (or runs until ended)."""

    clock: FakeClock
    lines: list[tuple[float, str]] = field(default_factory=list)
    exits_at: tuple[float, int] | None = None
    pid: int = 4242
    ended_by: str = ""

    def poll(self) -> int | None:
        if self.ended_by:
            return -15
        if self.exits_at is not None and self.clock.now >= self.exits_at[0]:
            return self.exits_at[1]
        return None

    def output(self) -> str:
        return "".join(text + "\n" for at, text in self.lines if self.clock.now >= at)

    def end(self) -> int | None:
        self.ended_by = "end"
        return -15


@dataclass
class Spawner:
    clock: FakeClock
    script: dict[str, FakeProcess] = field(default_factory=dict)
    started: list[tuple[str, Mapping[str, str]]] = field(default_factory=list)

    def __call__(self, command: str, extra: Mapping[str, str]) -> FakeProcess:
        self.started.append((command, extra))
        return self.script[command]


def _background(spawner: Spawner, clock: FakeClock, busy: frozenset[int] = frozenset(), **kwargs: object) -> Background:
    return Background(spawn=spawner, clock=clock, port_free=lambda port: port not in busy, **kwargs)  # type: ignore[arg-type]


FORWARD = "kubectl port-forward svc/prometheus 9090:9090"


def test_a_port_forward_is_ready_when_kubectl_says_it_forwards_and_runs_on_until_the_steps_end() -> None:
    clock = FakeClock()
    process = FakeProcess(clock, lines=[(1001.5, "Forwarding from 127.0.0.1:9090 -> 9090")])
    spawner = Spawner(clock, {FORWARD: process})
    background = _background(spawner, clock)

    started = background.start(FORWARD, step=2, as_written=FORWARD)

    assert started.came is Came.READY
    assert "Forwarding from 127.0.0.1:9090" in started.detail
    assert 1001.5 <= started.ended < 1002
    assert process.poll() is None  # still running for the next step
    [(_, extra)] = spawner.started
    assert set(extra) == {MARKER}

    clock.now = 1030.0
    [ended] = background.end_all()
    assert process.ended_by == "end"
    assert not ended.by_itself
    assert ended.ended == 1030.0
    assert "ran in the background for 30.0 s" in ended.describe()
    assert "ended when the incident's steps ended" in ended.describe()
    assert background.end_all() == []


def test_a_port_forward_whose_target_is_missing_is_an_ordinary_failed_command() -> None:
    clock = FakeClock()
    error = 'Error from server (NotFound): services "prometheus" not found'
    process = FakeProcess(clock, lines=[(1000.8, error)], exits_at=(1000.9, 1))
    background = _background(Spawner(clock, {FORWARD: process}), clock)

    started = background.start(FORWARD, step=1, as_written=FORWARD)

    assert started.came is Came.EXITED
    assert started.exit_code == 1
    assert error in started.output
    assert background.end_all() == []


def test_a_busy_local_port_is_the_sandboxs_limit_and_nothing_is_started() -> None:
    clock = FakeClock()
    spawner = Spawner(clock)
    background = _background(spawner, clock, busy=frozenset({9090}))

    started = background.start(FORWARD, step=3, as_written=FORWARD)

    assert started.came is Came.PORT_BUSY
    assert started.detail.startswith("sandbox limit: local port 9090")
    assert "nothing is claimed" in started.detail
    assert spawner.started == []
    assert background.foreign_port("curl -s http://localhost:9090/api/v1/query") == (9090, 3)
    assert background.foreign_port("curl -s http://localhost:9091/") is None


def test_a_port_taken_between_the_check_and_the_bind_is_still_the_sandboxs_limit() -> None:
    clock = FakeClock()
    said = (
        "Unable to listen on port 9090: bind: address already in use\n"
        "error: unable to listen on any of the requested ports"
    )
    process = FakeProcess(clock, lines=[(1000.5, said)], exits_at=(1000.6, 1))
    background = _background(Spawner(clock, {FORWARD: process}), clock)

    started = background.start(FORWARD, step=1, as_written=FORWARD)

    assert started.came is Came.PORT_BUSY
    assert said.splitlines()[0] in started.output


def test_a_forward_that_never_says_it_is_ready_is_ended_with_a_diagnostic() -> None:
    clock = FakeClock()
    process = FakeProcess(clock)
    background = _background(Spawner(clock, {FORWARD: process}), clock, ready_within_s=5.0)

    started = background.start(FORWARD, step=1, as_written=FORWARD)

    assert started.came is Came.NOT_READY
    assert process.ended_by == "end"
    assert "within 5 s" in started.detail
    assert "Forwarding from" in started.detail


def test_a_trailing_ampersand_command_runs_without_its_ampersand_and_counts_as_started_after_settling() -> None:
    clock = FakeClock()
    process = FakeProcess(clock)
    spawner = Spawner(clock, {"./serve.sh": process})
    background = _background(spawner, clock)

    started = background.start("./serve.sh &", step=1, as_written="./serve.sh &")

    assert started.came is Came.READY
    assert "still running after 1 s" in started.detail
    assert spawner.started[0][0] == "./serve.sh"


def test_a_background_command_that_exited_by_itself_is_said_to_have_done_so() -> None:
    clock = FakeClock()
    process = FakeProcess(clock, lines=[(1000.2, "Forwarding from 127.0.0.1:9090 -> 9090")], exits_at=(1010.0, 1))
    background = _background(Spawner(clock, {FORWARD: process}), clock)
    background.start(FORWARD, step=1, as_written=FORWARD)
    process.lines.append((1009.0, "error: lost connection to pod"))

    clock.now = 1020.0
    [ended] = background.end_all()

    assert ended.by_itself
    assert ended.exit_code == 1
    assert process.ended_by == ""
    assert "already exited by itself (exit 1)" in ended.describe()
    assert "lost connection to pod" in ended.describe()


def test_each_started_command_is_recorded_for_cleanup(tmp_path: Path) -> None:
    clock = FakeClock()
    process = FakeProcess(clock, lines=[(1000.0, "Forwarding from 127.0.0.1:9090 -> 9090")])
    spawner = Spawner(clock, {FORWARD: process})
    background = _background(spawner, clock, records=tmp_path / "background.jsonl")

    background.start(FORWARD, step=1, as_written=FORWARD)

    record = (tmp_path / "background.jsonl").read_text()
    assert '"pid": 4242' in record
    assert spawner.started[0][1][MARKER] in record


# -- the executor's side: outcomes as the journal and report get them -------------------------------------------


class View:
    def service_address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        return ("127.20.0.9", port or 80)

    def pod_name(self, namespace: str, selector: str) -> str:
        return "api-1"

    def env(self) -> dict[str, str]:
        return {}

    def tool_dirs(self) -> list[Path]:
        return TOOLS


def _executor(tmp_path: Path, background: Background) -> StepExecutor:
    executor = StepExecutor(view=View(), workdir=tmp_path)
    executor.background = background
    executor._prepared = True  # no step-user dirs: nothing runs for real here
    return executor


def _step(number: int, text: str) -> Step:
    return Step(number, "Step", "", number * 10, (Command(text, number * 10 + 1, "bash", "kubectl", Effect.READ_ONLY),))


def test_the_executor_reports_a_ready_forward_as_backgrounded_and_ends_it_on_request(tmp_path: Path) -> None:
    clock = FakeClock()
    process = FakeProcess(clock, lines=[(1000.3, "Forwarding from 127.0.0.1:9090 -> 9090")])
    executor = _executor(tmp_path, _background(Spawner(clock, {FORWARD: process}), clock))

    [outcome] = executor.run_step(_step(1, FORWARD))

    assert outcome.decision is Decision.BOUNDED
    assert outcome.exit_code is None
    assert outcome.reason.startswith("backgrounded (ready: Forwarding from 127.0.0.1:9090")
    assert "until the incident's steps end" in outcome.reason
    [ended] = executor.end_background()
    assert ended.step == 1
    assert process.ended_by == "end"


def test_the_executor_blocks_a_busy_port_and_the_curl_that_would_reach_someone_elses_server(tmp_path: Path) -> None:
    clock = FakeClock()
    executor = _executor(tmp_path, _background(Spawner(clock), clock, busy=frozenset({9090})))

    [forward] = executor.run_step(_step(1, FORWARD))
    [curl] = executor.run_step(_step(2, "curl -s http://localhost:9090/api/v1/query?query=up"))

    assert forward.decision is Decision.BLOCKED
    assert forward.reason.startswith("sandbox limit: local port 9090")
    assert curl.decision is Decision.BLOCKED
    assert "localhost:9090 is another process's" in curl.reason


def test_a_failed_forward_keeps_its_exit_code_so_the_verdict_sees_a_failure(tmp_path: Path) -> None:
    clock = FakeClock()
    process = FakeProcess(clock, lines=[(1000.1, 'error: services "prometheus" not found')], exits_at=(1000.2, 1))
    executor = _executor(tmp_path, _background(Spawner(clock, {FORWARD: process}), clock))

    [outcome] = executor.run_step(_step(1, FORWARD))

    assert outcome.decision is Decision.RUNS
    assert outcome.exit_code == 1


def test_a_dry_run_starts_nothing(tmp_path: Path) -> None:
    clock = FakeClock()
    spawner = Spawner(clock)
    executor = _executor(tmp_path, _background(spawner, clock))

    [outcome] = executor.run_step(_step(1, FORWARD), dry_run=True)

    assert outcome.decision is Decision.BOUNDED
    assert spawner.started == []
