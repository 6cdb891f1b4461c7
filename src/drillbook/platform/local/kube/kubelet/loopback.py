"""``localhost`` inside ``kubectl exec``: the pod's own servers, as in a real pod, where drillbook can arrange it.

On a cluster a pod has its own network namespace and filesystem: ``psql`` with no host finds the server's Unix
socket, and ``redis-cli`` with no host reaches the pod's Redis on ``127.0.0.1``. Here a pod is a process group on
the host, its servers bind the pod's loopback address (``127.10.x.y``) and keep their socket in a directory of their
own. So an exec'd command is given what the pod's processes really listen on:

- a PostgreSQL socket (``.s.PGSQL.<port>``) in the container: ``PGHOST`` (and ``PGPORT`` off 5432), which libpq
  reads when no ``-h`` is given, unless the container's env already names them;
- a ``redis-server`` in the pod: a ``redis-cli`` wrapper first on ``PATH`` that adds ``-h <pod IP>`` (or replaces a
  loopback ``-h``), said on stderr as drillbook's adaptation, since redis-cli reads no host from the environment;
- ``localhost:PORT`` / ``127.0.0.1:PORT`` / ``[::1]:PORT`` in the command (``curl http://localhost:8080/health``,
  also inside a ``sh -c`` string) where the pod listens on PORT: the pod's address instead, said on stderr.

A network namespace whose loopback is the pod's address was weighed and left: the exec'd command would then reach
neither Services nor other pods without a forwarder per port. Any other mention of a loopback host gets a plain
note on stderr that localhost there is the host's. Pods without such servers exec exactly as before.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

PG_SOCKET = re.compile(r"^\.s\.PGSQL\.(\d+)$")
PG_DEFAULT_PORT = 5432
CLIENT = Path(__file__).with_name("loopback_client.py")
_LOOPBACK_MENTION = re.compile(r"(?<![\w.-])(localhost|127\.0\.0\.1|\[?::1\]?)(?![\w.-])")
_LOOPBACK_PORT = re.compile(r"(?<![\w.-])(?:localhost|127\.0\.0\.1|\[::1\]):(\d{1,5})(?!\d)")


@dataclass(frozen=True)
class PodListeners:
    """What one pod's processes serve, as an exec into one of its containers sees it."""

    pod_name: str
    pod_ip: str
    #: Unix socket paths the exec'd container's processes listen on.
    unix_sockets: tuple[str, ...] = ()
    #: Process names running in any container of the pod (``redis-server``, ``postgres``, …).
    programs: frozenset[str] = field(default_factory=frozenset)
    #: TCP ports the pod's processes listen on at the pod's address (or every address).
    tcp_ports: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ExecAdaptation:
    """The argv and environment an exec'd command gets, and what drillbook tells its stderr before its output."""

    argv: list[str]
    env: dict[str, str]
    notes: tuple[str, ...] = ()
    #: A wrapper script to write (path, text) before the command starts.
    wrapper: tuple[Path, str] | None = None


def _pg_socket(paths: Iterable[str]) -> tuple[str, int] | None:
    for raw in paths:
        path = Path(raw)
        match = PG_SOCKET.match(path.name)
        if match:
            return str(path.parent), int(match.group(1))
    return None


def _wrapper_text(real: str, pod_ip: str) -> str:
    argv = shlex.join([sys.executable, "-I", "-S", str(CLIENT), real, pod_ip])
    return f'#!/bin/sh\n# drillbook: localhost in this pod is {pod_ip} (kubectl exec)\nexec {argv} "$@"\n'


def adapt_exec(command: list[str], env: Mapping[str, str], pod: PodListeners, bin_dir: Path) -> ExecAdaptation:
    """The exec environment for ``command`` in a container with ``env``, given what the pod listens on.

    Args:
        command: The exec'd argv.
        env: The container's environment.
        pod: What the pod's processes listen on.
        bin_dir: The pod's directory for client wrappers (put first on the exec's ``PATH`` when one is needed).
    """
    out = dict(env)
    notes: list[str] = []
    wrapper: tuple[Path, str] | None = None
    pg = _pg_socket(pod.unix_sockets)
    if pg is not None and "PGHOST" not in env:
        out["PGHOST"] = pg[0]
        if pg[1] != PG_DEFAULT_PORT and "PGPORT" not in env:
            out["PGPORT"] = str(pg[1])
    argv, served = _served_ports(command, pod)
    if served:
        ports = ", ".join(str(p) for p in served)
        notes.append(
            f"drillbook: localhost port {ports} in this command is given as {pod.pod_ip} (pod {pod.pod_name}'s "
            "address, which its servers listen on): on the embedded platform a pod's localhost is the host's"
        )
    text = " ".join(argv)
    wrapped = False
    if "redis-server" in pod.programs:
        real = shutil.which("redis-cli", path=env.get("PATH"))
        if real is not None:
            wrapper = (bin_dir / "redis-cli", _wrapper_text(real, pod.pod_ip))
            out["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
            wrapped = "redis-cli" in text
            if wrapped:
                notes.append(
                    f"drillbook: redis-cli in pod {pod.pod_name} is given -h {pod.pod_ip} where no host or a "
                    "loopback host was named: on the embedded platform the pod's Redis listens on the pod's "
                    "address, not 127.0.0.1"
                )
    if not wrapped and _LOOPBACK_MENTION.search(text):
        notes.append(
            f"drillbook: inside `kubectl exec` on the embedded platform, localhost/127.0.0.1 is the host's loopback, "
            f"not pod {pod.pod_name} ({pod.pod_ip}): a server of the pod is reached at {pod.pod_ip}, and the result "
            "of this command can differ from a real cluster (docs/platform-differences.md)"
        )
    return ExecAdaptation(argv=argv, env=out, notes=tuple(notes), wrapper=wrapper)


def _served_ports(command: list[str], pod: PodListeners) -> tuple[list[str], list[int]]:
    """``command`` with each loopback ``host:PORT`` the pod serves given as the pod's address; the ports given."""
    served: list[int] = []

    def swap(match: re.Match[str]) -> str:
        port = int(match.group(1))
        if port not in pod.tcp_ports:
            return match.group(0)  # not the pod's: left as typed, and the note below says localhost differs
        if port not in served:
            served.append(port)
        return f"{pod.pod_ip}:{port}"

    return [_LOOPBACK_PORT.sub(swap, arg) for arg in command], served


def write_wrapper(wrapper: tuple[Path, str]) -> None:
    """Write a client wrapper script (idempotent)."""
    path, text = wrapper
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o755)
    tmp.replace(path)


def pod_listeners(
    pod_name: str, pod_ip: str, container_pids: Iterable[int], pod_pids: Iterable[int], proc: Path = Path("/proc")
) -> PodListeners:
    """Read what the pod's processes listen on from ``/proc``: one read of the socket tables, not one per process.

    A pool-exhaustion drill can leave a hundred backends in a PostgreSQL pod; walking each one's connections
    would make every exec slow. TCP listeners bound to the pod's own address are the pod's (pod IPs are never
    shared); a PostgreSQL socket counts when one of the container's processes holds it.

    Args:
        pod_name: The pod, for messages.
        pod_ip: Its loopback address.
        container_pids: Processes of the exec'd container (their Unix sockets count).
        pod_pids: Processes of every container of the pod (their program names count).
        proc: The procfs root (tests may hand in a copy).
    """
    programs: set[str] = set()
    for pid in pod_pids:
        try:
            programs.add(psutil.Process(pid).name())
        except psutil.Error:
            continue  # gone since the group was read
    return PodListeners(
        pod_name=pod_name,
        pod_ip=pod_ip,
        unix_sockets=_held_pg_sockets(proc, container_pids),
        programs=frozenset(programs),
        tcp_ports=frozenset(tcp_listen_ports(_read(proc / "net" / "tcp"), pod_ip)),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def tcp_listen_ports(table: str, ip: str) -> set[int]:
    """Ports listening on ``ip`` in a ``/proc/net/tcp`` table (addresses are little-endian hex)."""
    want = "".join(f"{int(octet):02X}" for octet in reversed(ip.split(".")))
    ports: set[int] = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A":
            host, _, port = fields[1].partition(":")
            if host == want:
                ports.add(int(port, 16))
    return ports


def unix_listeners(table: str) -> dict[str, str]:
    """Listening PostgreSQL sockets in a ``/proc/net/unix`` table: inode → path."""
    found: dict[str, str] = {}
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and int(fields[3], 16) & 0x10000 and PG_SOCKET.match(Path(fields[7]).name):
            found[fields[6]] = fields[7]
    return found


def _held_pg_sockets(proc: Path, pids: Iterable[int]) -> tuple[str, ...]:
    listening = unix_listeners(_read(proc / "net" / "unix"))
    if not listening:
        return ()
    for pid in sorted(pids):  # the server (the oldest process) holds it: usually found at the first or second pid
        try:
            links = [os.readlink(fd) for fd in (proc / str(pid) / "fd").iterdir()]
        except OSError:
            continue
        held = [listening[link[8:-1]] for link in links if link.startswith("socket:[") and link[8:-1] in listening]
        if held:
            return tuple(held)
    return ()
