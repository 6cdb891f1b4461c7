"""Unit tests: what an exec'd command gets so that localhost in a pod is that pod (loopback.py, loopback_client.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.platform.local.kube.kubelet.loopback import (
    PodListeners,
    adapt_exec,
    tcp_listen_ports,
    unix_listeners,
    write_wrapper,
)
from drillbook.platform.local.kube.kubelet.loopback_client import redis_cli_argv

POD_IP = "127.10.0.7"
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home", "POD_IP": POD_IP}


def _pod(sockets: tuple[str, ...] = (), programs: tuple[str, ...] = (), ports: tuple[int, ...] = ()) -> PodListeners:
    return PodListeners(
        pod_name="db-0", pod_ip=POD_IP, unix_sockets=sockets, programs=frozenset(programs), tcp_ports=frozenset(ports)
    )


def test_a_postgres_pod_gives_psql_its_socket_directory_as_pghost(tmp_path: Path) -> None:
    pod = _pod(sockets=("/tmp/pgsock-x/.s.PGSQL.5432",), programs=("python", "postgres"))
    plan = adapt_exec(["psql", "-U", "postgres", "-c", "select 1"], ENV, pod, tmp_path)
    assert plan.env == {**ENV, "PGHOST": "/tmp/pgsock-x"}
    assert (plan.notes, plan.wrapper) == ((), None)


def test_a_postgres_socket_off_the_default_port_also_sets_pgport(tmp_path: Path) -> None:
    plan = adapt_exec(["psql"], ENV, _pod(sockets=("/run/pg/.s.PGSQL.6543",)), tmp_path)
    assert (plan.env["PGHOST"], plan.env["PGPORT"]) == ("/run/pg", "6543")


def test_pghost_and_pgport_the_container_sets_itself_win(tmp_path: Path) -> None:
    env = {**ENV, "PGHOST": "db.internal", "PGPORT": "5433"}
    plan = adapt_exec(["psql"], env, _pod(sockets=("/run/pg/.s.PGSQL.6543",)), tmp_path)
    assert plan.env == env


def test_a_redis_pod_puts_a_redis_cli_wrapper_first_on_path_and_says_so(tmp_path: Path) -> None:
    plan = adapt_exec(["redis-cli", "ping"], ENV, _pod(programs=("redis-server",)), tmp_path)
    assert plan.env["PATH"] == f"{tmp_path}:{ENV['PATH']}"
    assert plan.wrapper is not None
    assert plan.wrapper[0] == tmp_path / "redis-cli"
    assert "/usr/bin/redis-cli" in plan.wrapper[1]
    assert POD_IP in plan.wrapper[1]
    assert len(plan.notes) == 1
    assert f"-h {POD_IP}" in plan.notes[0]
    assert "embedded platform" in plan.notes[0]


def test_a_pod_without_datastore_servers_execs_with_its_env_unchanged(tmp_path: Path) -> None:
    plan = adapt_exec(["sh", "-c", "env"], ENV, _pod(programs=("python",), ports=(8080,)), tmp_path)
    assert (plan.argv, plan.env, plan.notes, plan.wrapper) == (["sh", "-c", "env"], ENV, (), None)


@pytest.mark.parametrize("target", ["localhost:8080/healthz", "http://127.0.0.1:9090/metrics", "[::1]:80"])
def test_a_loopback_host_the_platform_cannot_adapt_is_named_plainly(tmp_path: Path, target: str) -> None:
    plan = adapt_exec(["curl", "-s", target], ENV, _pod(programs=("python",)), tmp_path)
    assert plan.env == ENV
    assert len(plan.notes) == 1
    assert "localhost/127.0.0.1 is the host's loopback, not pod db-0 (127.10.0.7)" in plan.notes[0]


def test_a_loopback_port_the_pod_serves_is_given_as_the_pods_address_also_inside_a_shell_string(
    tmp_path: Path,
) -> None:
    command = ["sh", "-c", "curl -f http://localhost:3001/api/health && curl 127.0.0.1:3001/ready"]
    plan = adapt_exec(command, ENV, _pod(ports=(3001,)), tmp_path)
    assert plan.argv == ["sh", "-c", f"curl -f http://{POD_IP}:3001/api/health && curl {POD_IP}:3001/ready"]
    assert len(plan.notes) == 1
    assert f"localhost port 3001 in this command is given as {POD_IP}" in plan.notes[0]


def test_a_loopback_port_the_pod_does_not_serve_is_left_as_typed_and_named_as_a_difference(tmp_path: Path) -> None:
    command = ["curl", "http://localhost:9090/metrics"]
    plan = adapt_exec(command, ENV, _pod(ports=(3001,)), tmp_path)
    assert plan.argv == command
    assert len(plan.notes) == 1
    assert "is the host's loopback" in plan.notes[0]


def test_a_name_that_merely_contains_localhost_gets_no_note(tmp_path: Path) -> None:
    plan = adapt_exec(["curl", "http://notlocalhost.example:80", "127.0.0.10"], ENV, _pod(), tmp_path)
    assert plan.notes == ()


def test_the_wrapper_is_written_executable_and_rewritten_only_when_it_changes(tmp_path: Path) -> None:
    target = tmp_path / "bin" / "redis-cli"
    write_wrapper((target, "#!/bin/sh\nexit 0\n"))
    assert target.read_text() == "#!/bin/sh\nexit 0\n"
    assert target.stat().st_mode & 0o111
    mtime = target.stat().st_mtime_ns
    write_wrapper((target, "#!/bin/sh\nexit 0\n"))
    assert target.stat().st_mtime_ns == mtime


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ping"], ["-h", POD_IP, "ping"]),
        ([], ["-h", POD_IP]),
        (["-p", "6380", "ping"], ["-h", POD_IP, "-p", "6380", "ping"]),
        (["-h", "localhost", "ping"], ["-h", POD_IP, "ping"]),
        (["-h", "127.0.0.1", "-p", "6379", "info"], ["-h", POD_IP, "-p", "6379", "info"]),
        (["-h", "redis.other", "ping"], ["-h", "redis.other", "ping"]),
        (["-s", "/tmp/redis.sock", "ping"], ["-s", "/tmp/redis.sock", "ping"]),
        (["-u", "redis://:pw@localhost:6379/0", "ping"], ["-u", f"redis://:pw@{POD_IP}:6379/0", "ping"]),
        (["-u", "redis://cache:6379", "ping"], ["-u", "redis://cache:6379", "ping"]),
        # After the command word, "-h" is an argument of the command, not redis-cli's host.
        (["-a", "pw", "set", "-h", "x"], ["-h", POD_IP, "-a", "pw", "set", "-h", "x"]),
    ],
)
def test_redis_cli_gets_the_pod_address_where_loopback_or_nothing_was_named(
    args: list[str], expected: list[str]
) -> None:
    assert redis_cli_argv(args, POD_IP) == expected


TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0 100 0 0 10 0
   1: 07000A7F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12 1 0 100 0 0 10 0
   2: 07000A7F:1F90 0100007F:A059 01 00000000:00000000 00:00000000 00000000     0        0 13 1 0 100 0 0 10 0
   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 14 1 0 100 0 0 10 0
"""
UNIX_TABLE = """\
Num       RefCount Protocol Flags    Type St Inode Path
000000006fbb5787: 00000002 00000000 00010000 0001 01 4722933 /tmp/drillbook-run/pgsock-7wviakyq/.s.PGSQL.5432
000000006fbb5788: 00000003 00000000 00000000 0001 03 4722934 /tmp/drillbook-run/pgsock-7wviakyq/.s.PGSQL.5432
000000006fbb5789: 00000002 00000000 00010000 0001 01 4722935 /run/other.sock
"""


def test_tcp_listeners_are_read_for_the_pods_own_address_only() -> None:
    # 127.10.0.7 is 07000A7F little-endian: 0x18EB = 6379 listens; the connected socket, 0.0.0.0 and 127.0.0.1 do not.
    assert tcp_listen_ports(TCP_TABLE, POD_IP) == {6379}


def test_only_listening_postgres_sockets_are_taken_from_the_unix_table() -> None:
    assert unix_listeners(UNIX_TABLE) == {"4722933": "/tmp/drillbook-run/pgsock-7wviakyq/.s.PGSQL.5432"}
