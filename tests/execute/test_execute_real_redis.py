"""A seed runbook's Redis step, run verbatim with the real redis-cli against a real Redis on a loopback address."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillbook.execute import Bindings, StepExecutor
from drillbook.journal import Decision
from drillbook.runbook import parse_runbook, parse_text
from drillbook.runbook.model import Command, Effect, Step

pytestmark = pytest.mark.live

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


class RedisView:
    """The sandbox as the executor sees it: one Redis Service on its own loopback address."""

    def __init__(self, host: str) -> None:
        self.host = host

    def service_address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        return self.host, 6379

    def pod_name(self, namespace: str, selector: str) -> str:
        return "redis-0"

    def env(self) -> dict[str, str]:
        return {"REDIS_HOST": self.host, "REDIS_PORT": "6379"}

    def tool_dirs(self) -> list[Path]:
        return [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]


@pytest.fixture
def redis_host(tmp_path: Path) -> Iterator[str]:
    """A redis-server on 127.77.x.y:6379 (its own loopback address, so the runbook's literal port works)."""
    host = f"127.77.{os.getpid() % 250 + 1}.{time.monotonic_ns() % 250 + 1}"
    server = subprocess.Popen(
        ["redis-server", "--bind", host, "--port", "6379", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((host, 6379), timeout=0.2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not listen on {host}:6379 (exit code {server.poll()})")
                time.sleep(0.05)
        yield host
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_zephyrs_redis_check_runs_verbatim_against_the_sandbox_redis(tmp_path: Path, redis_host: str) -> None:
    runbook = parse_runbook(SCENARIOS / "zephyr-voting" / "runbook.md")
    step = runbook.incident("Incident 3").steps[0]
    bindings = Bindings.load(SCENARIOS / "zephyr-voting" / "bindings.yaml")
    executor = StepExecutor(view=RedisView(redis_host), workdir=tmp_path / "drill", bindings=bindings)
    [outcome] = executor.run_step(step)
    assert outcome.as_written == "redis-cli -h <REDIS_HOST> -p 6379 -a <REDIS_PASSWORD> ping"
    assert outcome.as_run == f"redis-cli -h {redis_host} -p 6379 -a '' ping"
    assert (outcome.decision, outcome.exit_code) == (Decision.RUNS, 0)
    assert "PONG" in outcome.output


def test_a_bare_redis_cli_reaches_the_sandbox_redis_not_the_machines(tmp_path: Path, redis_host: str) -> None:
    executor = StepExecutor(view=RedisView(redis_host), workdir=tmp_path / "drill")
    step = Step(
        3, "Check Dependencies", "", 108, (Command("redis-cli ping", 112, "bash", "redis-cli", Effect.READ_ONLY),)
    )
    [outcome] = executor.run_step(step)
    assert (outcome.exit_code, outcome.output.strip()) == (0, "PONG")


def test_lines_typed_into_a_redis_cli_session_run_in_redis_not_in_the_shell(tmp_path: Path, redis_host: str) -> None:
    markdown = (
        "# Session cache misses\n\n## Diagnosis\n\n```bash\nredis-cli -p 6379\n"
        'SET drill:probe "typed into redis"\nGET drill:probe\nKEYS "drill:*"\nINFO clients\nexit\n```\n'
    )
    [step] = parse_text(markdown).incidents[0].steps
    executor = StepExecutor(view=RedisView(redis_host), workdir=tmp_path / "drill")
    opened, stored, read, keys, info = executor.run_step(step)
    assert [o.exit_code for o in (opened, stored, read, keys, info)] == [0, 0, 0, 0, 0], [
        o.output for o in (opened, stored, read, keys, info)
    ]
    assert (opened.output.strip(), stored.output.strip(), read.output.strip()) == ("PONG", "OK", "typed into redis")
    assert keys.output.split() == ["drill:probe"]
    assert "connected_clients:" in info.output
    # The server itself holds what the typed SET stored: it reached Redis, not a shell.
    direct = subprocess.run(
        ["redis-cli", "-h", redis_host, "-p", "6379", "GET", "drill:probe"],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert direct.stdout.strip() == "typed into redis"
