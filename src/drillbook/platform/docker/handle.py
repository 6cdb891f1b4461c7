"""A datastore pod on ``docker`` that is a handle on the datastore's container (``python -m <this module>``).

On ``docker`` PostgreSQL and Redis run in containers outside localkube. Their Deployments stay in the cluster, so
what a runbook does to them acts on the container, as it would on the datastore's pod on ``local``:

* the pod starting runs ``docker start`` (nothing when the container is running), so scaling the Deployment back
  up, a rollout restart or a deleted pod's replacement brings the datastore back;
* the pod stopping (scaled to zero, deleted, restarted) runs ``docker stop``: the datastore goes down;
* the container stopping by itself ends the pod (exit 1), and the kubelet restarts it as a crashed datastore;
* the pod listens on its own address at the datastore's port and relays to the container's loopback-published
  port, so the Deployment's probes and ``kubectl port-forward`` to the pod reach the datastore.

The app never goes through this relay: it reaches the container through the fault proxy, whose upstream is the
container's published port (``provider.py``). Environment: ``DRILLBOOK_CONTAINER`` (the container id),
``DRILLBOOK_CONTAINER_PORT`` (its port published on 127.0.0.1), ``DRILLBOOK_LISTEN_PORT`` (the datastore's port
in the pod) and the kubelet's ``POD_IP``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

DOCKER_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0
WATCH_EVERY_S = 2.0
STOP_GRACE_S = 5


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; its failure is returned, not raised."""
    return subprocess.run(
        ["docker", *args],
        capture_output=True, text=True, timeout=DOCKER_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def running(container: str) -> bool:
    """Whether the container is running (False when it is gone or the engine does not answer)."""
    done = docker("inspect", "--format", "{{.State.Running}}", container)
    return done.returncode == 0 and done.stdout.strip() == "true"


def wait_listening(port: int, timeout_s: float = READY_TIMEOUT_S) -> bool:
    """Whether 127.0.0.1:``port`` accepts a connection within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        time.sleep(0.2)
    return False


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, port: int) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))


async def serve(container: str, listen: tuple[str, int], upstream_port: int) -> int:
    """Relay ``listen`` to the container until SIGTERM (then stop the container: 0) or the container stops (1)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await asyncio.start_server(lambda r, w: _relay(r, w, upstream_port), *listen)
    print(f"handle: {listen[0]}:{listen[1]} relays to container {container[:12]} on 127.0.0.1:{upstream_port}")
    async with server:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_EVERY_S)
            if not stop.is_set() and not await asyncio.to_thread(running, container):
                print(f"handle: container {container[:12]} stopped by itself", file=sys.stderr)
                return 1
    done = await asyncio.to_thread(docker, "stop", "--time", str(STOP_GRACE_S), container)
    print(f"handle: docker stop {container[:12]}: exit {done.returncode} {done.stderr.strip()}".rstrip())
    return 0


def _name_process(name: str) -> None:
    """Set this process's name (``/proc/self/comm``), the one the kubelet reads to adapt an exec into the pod."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def main() -> int:
    """Start the container (when stopped), wait for it, relay until told to stop."""
    env = os.environ
    try:
        container = env["DRILLBOOK_CONTAINER"]
        upstream_port = int(env["DRILLBOOK_CONTAINER_PORT"])
        listen = (env.get("POD_IP") or "127.0.0.1", int(env["DRILLBOOK_LISTEN_PORT"]))
    except (KeyError, ValueError) as exc:
        print(f"handle: expected DRILLBOOK_CONTAINER, DRILLBOOK_CONTAINER_PORT and DRILLBOOK_LISTEN_PORT: {exc}")
        return 2
    if env.get("DRILLBOOK_HANDLE_OF") == "redis":
        _name_process("redis-server")  # `kubectl exec deploy/redis -- redis-cli` gets the pod's -h, as on local
    if not running(container):
        done = docker("start", container)
        if done.returncode != 0:
            print(f"handle: docker start {container[:12]} failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
    if not wait_listening(upstream_port):
        print(f"handle: container {container[:12]} does not answer on 127.0.0.1:{upstream_port}", file=sys.stderr)
        return 1
    return asyncio.run(serve(container, listen, upstream_port))


if __name__ == "__main__":
    raise SystemExit(main())
