"""A real Kubelet's process handling: logs, exec, memory limits, termination, metrics, no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from kubelet_fakes import Env, container_status, env_fixture, make_pod, python_container

from drillbook.platform.local.kube.kubelet import Kubelet, KubeletError

pytestmark = pytest.mark.slow
__all__ = ["env_fixture"]  # imported so pytest finds the `env` fixture (no conftest.py here)

# stderr first, then a pause: the two pipes are read by separate threads, so only a pause makes the order fixed.
TICKER = (
    "import sys, time\nprint('starting', file=sys.stderr)\ntime.sleep(0.1)\nfor i in range(5):\n    print('line', i)\n"
)


async def _collect(stream: object) -> bytes:
    return b"".join([chunk async for chunk in stream])  # type: ignore[attr-defined]


def test_logs_keep_timestamps_and_honour_tail_since_and_previous(env: Env) -> None:
    code = TICKER + "time.sleep(0.3)\nsys.exit(1)\n"
    pod = make_pod("logs", [python_container("app", code)])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await _wait_started(env, kubelet)
        with pytest.raises(KubeletError) as no_previous:
            kubelet.logs("default", "logs", "app", previous=True)
        assert no_previous.value.http_status == 400
        assert 'previous terminated container "app" in pod "logs" not found' in str(no_previous.value)
        await env.sink.wait_for("logs", lambda s: container_status(s)["restartCount"] >= 1)
        previous = await _collect(kubelet.logs("default", "logs", "app", previous=True))
        assert previous.splitlines() == [b"starting", b"line 0", b"line 1", b"line 2", b"line 3", b"line 4"]
        stamped = await _collect(kubelet.logs("default", "logs", None, previous=True, timestamps=True, tail_lines=2))
        lines = stamped.splitlines()
        assert len(lines) == 2
        stamp, _, text = lines[0].partition(b" ")
        assert stamp.endswith(b"Z")
        assert len(stamp.split(b".")[1]) == 10  # nine fraction digits + Z
        assert text == b"line 3"
        assert await _collect(kubelet.logs("default", "logs", "app", previous=True, since_seconds=0.000001)) == b""
        recent = await _collect(kubelet.logs("default", "logs", "app", previous=True, since_seconds=60))
        assert len(recent.splitlines()) == 6
        limited = await _collect(kubelet.logs("default", "logs", "app", previous=True, limit_bytes=8))
        assert len(limited) == 8

    env.run(body)


def test_logs_follow_streams_until_the_container_ends(env: Env) -> None:
    code = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.2)\n"
    pod = make_pod("follow", [python_container("app", code)], restartPolicy="Never")

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await _wait_started(env, kubelet, "follow")
        out = await _collect(kubelet.logs("default", "follow", "app", follow=True))
        assert out == b"tick 0\ntick 1\ntick 2\n"

    env.run(body)


def test_logs_of_unknown_pod_or_container_are_404(env: Env) -> None:
    pod = make_pod(
        "two",
        [python_container("a", "import time; time.sleep(30)"), python_container("b", "import time; time.sleep(30)")],
    )

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        with pytest.raises(KubeletError) as unknown_pod:
            kubelet.logs("default", "nope", None)
        assert unknown_pod.value.http_status == 404
        with pytest.raises(KubeletError) as unknown_container:
            kubelet.logs("default", "two", "c")
        assert unknown_container.value.http_status == 404
        with pytest.raises(KubeletError, match=r"choose one of: \[a b\]"):
            kubelet.logs("default", "two", None)

    env.run(body)


def test_exec_runs_in_the_container_environment_with_stdin_and_exit_code(env: Env) -> None:
    container = python_container("app", "import time; time.sleep(30)", env=[{"name": "GREETING", "value": "hello"}])
    pod = make_pod("ex", [container])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await _wait_started(env, kubelet, "ex")
        session = await kubelet.exec(
            "default",
            "ex",
            "app",
            ["/bin/sh", "-c", 'read x; echo "$GREETING $x $HOSTNAME"; echo oops >&2; exit 3'],
            stdin=True,
            tty=False,
        )
        await session.write_stdin(b"world\n")
        await session.close_stdin()
        chunks: dict[int, bytes] = {1: b"", 2: b""}
        while (item := await session.read()) is not None:
            chunks[item[0]] += item[1]
        assert await session.wait() == 3
        assert chunks == {1: b"hello world ex\n", 2: b"oops\n"}

    env.run(body)


def test_memory_limit_kills_the_container_as_oomkilled_137(env: Env) -> None:
    hog = "import time\nblocks = []\nwhile True:\n    blocks.append(bytearray(8 * 2**20))\n    time.sleep(0.05)\n"
    pod = make_pod(
        "oom", [python_container("app", hog, resources={"limits": {"memory": "64Mi"}})], restartPolicy="Never"
    )

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for("oom", lambda s: s["phase"] == "Failed")
        terminated = container_status(status)["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (137, "OOMKilled")
        assert "exceeded its memory limit (64Mi)" in await env.sink.wait_event("oom", "OOMKilled")

    env.run(body)


def test_graceful_termination_gives_the_sigterm_handler_time(env: Env, tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    code = textwrap.dedent(f"""
        import signal, sys, time
        def stop(*_):
            time.sleep(0.3)
            open({str(marker)!r}, "w").write("clean")
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        time.sleep(60)
    """)
    pod = make_pod("grace", [python_container("app", code)], terminationGracePeriodSeconds=30)

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await _wait_log(kubelet, "grace", b"ready")
        await kubelet.kill_pod(pod)
        assert marker.read_text() == "clean"
        terminated = container_status(env.sink.latest("grace"))["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
        assert "Stopping container app" in [m for *_, r, m in env.sink.events if r == "Killing"]

    env.run(body)


def test_grace_period_ends_with_sigkill_for_a_process_ignoring_sigterm(env: Env) -> None:
    code = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)"
    )
    pod = make_pod("stubborn", [python_container("app", code)], terminationGracePeriodSeconds=4)

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await _wait_log(kubelet, "stubborn", b"ready")
        await kubelet.kill_pod(pod)
        terminated = container_status(env.sink.latest("stubborn"))["state"]["terminated"]
        assert terminated["exitCode"] == 137

    env.run(body)


def test_metrics_report_cpu_and_memory_of_a_busy_process(env: Env) -> None:
    pod = make_pod("busy", [python_container("app", "while True:\n    pass\n")])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await _wait_started(env, kubelet, "busy")
        for _ in range(100):
            usage = kubelet.metrics("default", "busy").get("app")
            if usage is not None and usage.cpu_nanocores > 0:
                break
            await asyncio.sleep(0.05)
        assert usage is not None
        assert usage.cpu_nanocores > 100_000_000  # a spinning loop uses far more than 0.1 core
        assert usage.memory_bytes > 1_000_000

    env.run(body)


HOST_SCRIPT = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from kubelet_fakes import FakeLookup, FakeSink, make_pod, python_container
from drillbook.platform.local.kube.kubelet import ImageMap, ImageSpec, Kubelet

async def main():
    sink = FakeSink()
    kubelet = Kubelet(node_name="node-1", images=ImageMap({{"python:3": ImageSpec(entrypoint=("python",))}}),
                      lookup=FakeLookup(), sink=sink, state_dir=Path({state!r}), time_factor=0.05)
    await kubelet.start()
    code = "import subprocess, time; subprocess.Popen(['sleep', '120']); time.sleep(120)"
    for name in ("a", "b"):
        await kubelet.sync_pod(make_pod(name, [python_container("app", code)]))
    while len([e for e in sink.events if e[2] == "Started"]) < 2:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    print("started", flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_killing_the_kubelet_host_with_sigkill_leaves_no_container_process(tmp_path: Path) -> None:
    script = HOST_SCRIPT.format(tests=str(Path(__file__).parent), state=str(tmp_path / "state"))
    host = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert host.stdout is not None
        assert host.stdout.readline() == b"started\n"
        descendants = psutil.Process(host.pid).children(recursive=True)
        assert len(descendants) >= 6  # two shims, two pythons, two sleeps
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        _, alive = psutil.wait_procs(descendants, timeout=5)
        assert alive == []
    finally:
        if host.poll() is None:
            os.killpg(host.pid, signal.SIGKILL)
            host.wait()


def test_shutdown_leaves_no_process_behind(env: Env) -> None:
    code = "import subprocess, time; subprocess.Popen(['sleep', '120']); time.sleep(120)"
    pod = make_pod("leftover", [python_container("app", code)])
    procs: list[psutil.Process] = []

    # Other tiers may leave their own long-lived children of this worker running (a session-scoped dockerd, say):
    # only the processes that appeared for this pod are the kubelet's to end.
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await _wait_started(env, kubelet, "leftover")
        # The shim, the python and its sleep: wait for all three (a loaded machine starts them slowly).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            procs[:] = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
            if len(procs) >= 3:
                break
            await asyncio.sleep(0.05)

    env.run(body)
    assert len(procs) >= 3, f"the pod's shim, python and sleep never all ran within 15 s: {procs}"
    _, alive = psutil.wait_procs(procs, timeout=3)
    assert [(p.pid, p.cmdline()) for p in alive] == []


async def _wait_started(env: Env, kubelet: Kubelet, name: str = "logs") -> None:
    await env.sink.wait_for(name, lambda s: "running" in container_status(s)["state"])


async def _wait_log(kubelet: Kubelet, name: str, text: bytes, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if text in await _collect(kubelet.logs("default", name, None)):
                return
        except KubeletError:
            pass
        await asyncio.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in the logs of {name}")


def test_a_daemon_that_left_the_process_group_dies_with_its_container(env: Env) -> None:
    # setsid puts the sleep in its own session, like pg_ctl or a daemonizing server would.
    code = "import subprocess, time\nsubprocess.Popen(['setsid', 'sleep', '120'])\nprint('ready', flush=True)\n"
    code += "time.sleep(0.5)"
    pod = make_pod("daemon", [python_container("app", code)], restartPolicy="Never")

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await _wait_log(kubelet, "daemon", b"ready")
        await asyncio.sleep(0.2)
        daemons = [p for p in psutil.process_iter(["cmdline", "environ"]) if _is_our_sleep(p, env)]
        assert len(daemons) == 1
        await env.sink.wait_for("daemon", lambda s: s["phase"] == "Succeeded")
        _, alive = psutil.wait_procs(daemons, timeout=3)
        assert alive == []

    env.run(body)


def _is_our_sleep(proc: psutil.Process, env: Env) -> bool:
    info = proc.info
    return info["cmdline"] == ["sleep", "120"] and str(env.state_dir) in (info["environ"] or {}).get("HOME", "")
