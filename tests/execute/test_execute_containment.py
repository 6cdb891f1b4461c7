"""Hostile runbook commands against the OS's containment, live.

A listener on a non-loopback address lives in a network namespace this test makes (a veth pair to it); the
only non-loopback traffic any test here sends goes to that namespace. Each hostile command runs contained
*without* the policy in front (the OS alone must hold it), and through the executor (the policy's verdict is
reported). The listener must see nothing, and nothing may appear outside the step's work dir.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drillbook.errors import UsageError
from drillbook.execute import StepExecutor, containment, runner
from drillbook.journal import Decision
from drillbook.runbook.model import Command, Effect, Step

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(containment.why_not_contained()) or shutil.which("ip") is None,
        reason=f"the OS cannot contain commands here: {containment.why_not_contained() or 'no ip(8)'}",
    ),
]


@dataclass(frozen=True)
class Outside:
    """A listener outside loopback: ``address:port`` inside the test's own network namespace."""

    namespace: str
    address: str
    port: int
    log: Path

    def seen(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def rx_packets(self) -> int:
        """Every IP packet that reached the namespace (any protocol, any port), counted by its own firewall."""
        out = subprocess.run(
            ["ip", "netns", "exec", self.namespace, "nft", "list", "table", "inet", "seen"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(out.stdout.split("packets ", 1)[1].split()[0])


_LISTENER = """
import socket, sys, threading
address, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def note(what):
    with open(log, "a") as f:
        f.write(what + "\\n")
tcp = socket.socket(); tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((address, port)); tcp.listen()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind((address, port))
def serve_udp():
    while True:
        data, peer = udp.recvfrom(65536); note(f"udp {peer}")
threading.Thread(target=serve_udp, daemon=True).start()
note("ready")
while True:
    conn, peer = tcp.accept(); note(f"tcp {peer}"); conn.close()
"""


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outside]:
    name = f"dbk{os.getpid() % 100000}"
    subnet = random.randint(0, 255)
    host, peer = f"10.213.{subnet}.1", f"10.213.{subnet}.2"
    log = tmp_path_factory.mktemp("outside") / "seen.log"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    ip("netns", "add", name)
    listener: subprocess.Popen[bytes] | None = None
    try:
        ip("link", "add", f"{name}h", "type", "veth", "peer", "name", f"{name}n")
        ip("link", "set", f"{name}n", "netns", name)
        for cmd in (["sysctl", "-qw", f"net.ipv6.conf.{name}h.disable_ipv6=1"],):
            subprocess.run(cmd, check=False, capture_output=True)
        ip("addr", "add", f"{host}/30", "dev", f"{name}h")
        ip("link", "set", f"{name}h", "up")
        ip("netns", "exec", name, "sysctl", "-qw", f"net.ipv6.conf.{name}n.disable_ipv6=1")
        ip("netns", "exec", name, "ip", "addr", "add", f"{peer}/30", "dev", f"{name}n")
        ip("netns", "exec", name, "ip", "link", "set", f"{name}n", "up")
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        counter = 'table inet seen {\n chain input {\n  type filter hook input priority 0;\n  iifname != "lo" counter\n'
        counter += " }\n}\n"
        subprocess.run(["ip", "netns", "exec", name, "nft", "-f", "-"], input=counter, text=True, check=True)
        listener = subprocess.Popen(
            ["ip", "netns", "exec", name, sys.executable, "-c", _LISTENER, peer, "8080", str(log)],
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while "ready" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.05)
        found = Outside(name, peer, 8080, log)
        # The control: root, uncontained, does reach it. Without this, "saw nothing" would prove nothing.
        subprocess.run(["curl", "-s", "-m", "3", f"http://{peer}:8080/"], capture_output=True, check=False)
        assert any(line.startswith("tcp") for line in found.seen()), "the listener never saw the control connection"
        yield found
    finally:
        if listener is not None:
            os.killpg(listener.pid, signal.SIGKILL)
            listener.wait()
        subprocess.run(["ip", "link", "del", f"{name}h"], check=False, capture_output=True)
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def _hostile(addr: str, port: int) -> list[str]:
    url = f"http://{addr}:{port}/"
    decoded = base64.b64encode(f"/usr/bin/curl -s -m 2 {url}".encode()).decode()
    return [
        f"curl -s -m 2 {url}",
        f"/usr/bin/curl -s -m 2 {url}",
        f"echo {decoded} | base64 -d | bash",
        f"bash <(printf '/usr/bin/curl -s -m 2 {url}')",
        f"printf '/usr/bin/curl -s -m 2 {url}' | bash",
        f"export PGHOST={addr} PGCONNECT_TIMEOUT=2; psql -p {port} -c 'select 1'",
        f"export REDIS_HOST={addr}; timeout 3 redis-cli -p {port} ping",
        f"python3 - <<'EOF'\nimport socket\nsocket.create_connection(('{addr}', {port}), timeout=2)\nEOF",
        f"exec 3<>/dev/tcp/{addr}/{port}",
        f"echo hello > /dev/udp/{addr}/{port}",
        f"kubectl --server {url} --request-timeout=2s get pods",
        f"(setsid /usr/bin/curl -s -m 2 {url} &); sleep 3",
    ]


HOSTILE_IDS = [
    "curl", "absolute-curl", "base64-bash", "bash-procsub", "printf-bash", "export-pghost", "export-redis-host",
    "python-heredoc-socket", "dev-tcp", "dev-udp", "kubectl-server", "setsid-background",
]  # fmt: skip


@pytest.fixture
def executor(public_dir: Path, view: object) -> StepExecutor:
    return StepExecutor(view=view, workdir=public_dir / "steps")  # type: ignore[arg-type]


def _step(text: str) -> Step:
    return Step(1, "Hostile", "", 9, (Command(text, 10, "bash", "bash", Effect.READ_ONLY),))


@pytest.mark.parametrize("index", range(len(HOSTILE_IDS)), ids=HOSTILE_IDS)
def test_a_hostile_command_sends_no_packet_outside_loopback(
    outside: Outside, executor: StepExecutor, index: int
) -> None:
    command = _hostile(outside.address, outside.port)[index]
    before_seen, before_rx = len(outside.seen()), outside.rx_packets()
    # The OS alone, with no policy in front: the command really runs, as the step user.
    done = runner.run(
        command, env=executor.environment(), cwd=executor.workdir / "cwd", deadline_s=15,
        containment=executor.containment, workdir=executor.workdir,
    )  # fmt: skip
    # And as a drill step: what the policy says of it, and it still sends nothing.
    [outcome] = executor.run_step(_step(command))
    time.sleep(0.3)
    assert outside.seen()[before_seen:] == [], done.output
    assert outside.rx_packets() == before_rx, done.output
    assert outcome.decision in {Decision.BLOCKED, Decision.RUNS}, outcome


def test_the_policy_blocks_the_hostile_commands_it_can_read(outside: Outside, executor: StepExecutor) -> None:
    decided = {
        name: executor.run_step(_step(command))[0].decision
        for name, command in zip(HOSTILE_IDS, _hostile(outside.address, outside.port), strict=True)
    }
    assert {n for n, d in decided.items() if d is not Decision.BLOCKED} == set(), decided


def test_the_step_reaches_the_sandbox_loopback_servers(executor: StepExecutor) -> None:
    import socket

    with socket.socket() as server:
        server.bind(("127.20.0.77", 0))
        server.listen()
        port = server.getsockname()[1]
        done = runner.run(
            f"exec 3<>/dev/tcp/127.20.0.77/{port} && echo connected; id -un",
            env=executor.environment(), cwd=executor.workdir / "cwd", deadline_s=10,
            containment=executor.containment, workdir=executor.workdir,
        )  # fmt: skip
    assert "connected" in done.output
    assert containment.STEP_USER in done.output


def test_nothing_a_hostile_command_writes_appears_outside_its_work_dir(executor: StepExecutor) -> None:
    token = f"drillbook-escape-{os.getpid()}-{random.randint(0, 10**9)}"
    targets = [
        Path("/etc") / token, Path("/root") / token, Path("/tmp") / token, Path("/var/tmp") / token,
        Path("/dev/shm") / token, executor.workdir.parent / token, executor.workdir / token,
        executor.workdir / "shims" / token, Path("/run/lock") / token,
    ]  # fmt: skip
    script = "; ".join(
        [
            f"echo x > ../{token}", f"echo x > ../../{token}", f"cd / && touch etc/{token}",
            *(f"touch {t} 2>/dev/null" for t in targets), f"cp /etc/hostname ~/../{token}",
            f"ln -s /etc/passwd ../{token}", f"mkdir -p ../shims/{token}", "true",
        ]
    )  # fmt: skip
    done = runner.run(
        script, env=executor.environment(), cwd=executor.workdir / "cwd", deadline_s=10,
        containment=executor.containment, workdir=executor.workdir,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    leaked = [str(t) for t in targets if t.exists() or t.is_symlink()]
    assert leaked == []
    written = list(executor.workdir.rglob(f"*{token}*"))
    assert all(p.is_relative_to(executor.workdir / "cwd") or p.is_relative_to(executor.workdir / "home")
               for p in written), written  # fmt: skip


def test_a_step_killed_with_its_runner_leaves_no_process(public_dir: Path) -> None:
    token = f"{random.randint(100, 999)}.{random.randint(10**5, 10**6)}"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from conftest import FakeView
        from drillbook.execute import StepExecutor, runner
        from pathlib import Path
        ex = StepExecutor(view=FakeView(), workdir=Path({str(public_dir / "killed")!r}))
        print("running", flush=True)
        runner.run("(setsid sleep {token} &); nohup sleep {token} & sleep {token} && redis-cli -h 127.20.0.2 ping",
                   env=ex.environment(), cwd=ex.workdir / "cwd", deadline_s=300,
                   containment=ex.containment, workdir=ex.workdir)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "running"
    deadline = time.monotonic() + 10
    while not _sleepers(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_sleepers(token)) == 3, "the step's three sleeps never started"
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 5
    while _sleepers(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sleepers(token) == []
    # The killed run's firewall is left behind (no atexit on SIGKILL) until the next run or `drillbook cleanup`.
    assert f"{containment.TABLE_PREFIX}{child.pid}" in containment.remove_stale_tables()


def _sleepers(token: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", f"^sleep {token}$"], capture_output=True, text=True, check=False)
    return out.stdout.split()


def test_where_the_os_cannot_contain_drillbook_refuses_unless_opted_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containment, "_CURRENT", None)
    monkeypatch.setattr(containment, "why_not_contained", lambda: "not running as root: cannot switch users")
    with pytest.raises(
        UsageError, match=r"cannot be contained on this machine: not running as root.*DRILLBOOK_UNCONTAINED=1"
    ):
        containment.containment({})
    opted = containment.check({containment.OPT_IN: "1"})
    assert not opted.contained
    assert opted.argv("echo hi", Path("/w")) == ["bash", "-c", "echo hi"]


def test_a_dead_runs_firewall_is_removed_and_a_live_one_kept() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"{containment.TABLE_PREFIX}{dead.pid}"
    subprocess.run(["nft", "add", "table", "inet", stale], check=True)
    assert stale in containment.remove_stale_tables()
    assert stale not in containment.tables()
    assert containment.containment().table in containment.tables()
