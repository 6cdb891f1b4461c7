"""A real Kubelet running pods as local processes: readiness, restarts, back-off, images, config errors."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import psutil
import pytest
from kubelet_fakes import Env, container_status, env_fixture, make_pod, python_container

from drillbook.platform.local.kube.kubelet import Kubelet, KubeletError
from drillbook.platform.local.kube.kubelet.images import ImageMap, ImageSpec
from drillbook.platform.local.kube.kubelet.priority import STARTING_NICE

pytestmark = pytest.mark.slow
__all__ = ["env_fixture"]  # imported so pytest finds the `env` fixture (no conftest.py here)

HTTP_SERVER = """
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/ready" else 404)
        self.end_headers()
    def log_message(self, *a):
        pass
print("serving on", os.environ["POD_IP"], flush=True)
http.server.HTTPServer((os.environ["POD_IP"], 8080), H).serve_forever()
"""


def _waiting_reason(status: dict[str, Any]) -> str | None:
    reason: str | None = container_status(status)["state"].get("waiting", {}).get("reason")
    return reason


def _ready(status: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))


def test_pod_with_http_server_becomes_ready_through_its_readiness_probe(env: Env) -> None:
    probe = {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 2}
    pod = make_pod(
        "web",
        [python_container("web", HTTP_SERVER, ports=[{"name": "http", "containerPort": 8080}], readinessProbe=probe)],
    )

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        running = await env.sink.wait_for("web", lambda s: "running" in container_status(s)["state"])
        assert not _ready(running)
        status = await env.sink.wait_for("web", _ready)
        assert status["phase"] == "Running"
        assert status["podIP"].startswith("127.10.")
        assert container_status(status)["ready"] is True
        assert env.sink.reasons("web")[:3] == ["Pulled", "Created", "Started"]

    env.run(body)


def test_failing_readiness_probe_reports_unhealthy_with_upstream_wording(env: Env) -> None:
    probe = {"httpGet": {"path": "/broken", "port": 8080}, "periodSeconds": 2}
    pod = make_pod("web", [python_container("web", HTTP_SERVER, readinessProbe=probe)])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        message = await env.sink.wait_event("web", "Unhealthy")
        assert message in ("Readiness probe failed: HTTP probe failed with statuscode: 404",) or message.startswith(
            'Readiness probe failed: Get "http://127.10.'
        )
        assert not _ready(env.sink.latest("web"))

    env.run(body)


def test_crashing_container_goes_into_crash_loop_back_off_with_growing_delays(env: Env) -> None:
    pod = make_pod("crash", [python_container("app", "import sys; print('dying'); sys.exit(1)")])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for("crash", lambda s: container_status(s)["restartCount"] >= 3)
        waiting = [
            c["state"]["waiting"]["message"]
            for _, name, _, s in env.sink.statuses
            if name == "crash"
            for c in s["containerStatuses"]
            if c["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
        ]
        assert any(m.startswith("back-off 10s restarting failed container=app pod=crash_default(") for m in waiting)
        assert any(m.startswith("back-off 20s restarting failed container=app") for m in waiting)
        last = container_status(status)["lastState"]["terminated"]
        assert last["exitCode"] == 1
        assert last["reason"] == "Error"
        assert status["phase"] == "Running"
        backoffs = [m for pod_name, _, r, m in env.sink.events if pod_name == "crash" and r == "BackOff"]
        assert backoffs[0].startswith("Back-off restarting failed container app in pod crash_default(")

    env.run(body)


def test_restart_policy_never_leaves_a_failed_pod(env: Env) -> None:
    pod = make_pod("once", [python_container("app", "raise SystemExit(3)")], restartPolicy="Never")

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for("once", lambda s: s["phase"] == "Failed")
        terminated = container_status(status)["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
        assert container_status(status)["restartCount"] == 0

    env.run(body)


def test_unknown_image_fails_to_pull_then_backs_off(env: Env) -> None:
    pod = make_pod("typo", [{"name": "app", "image": "zephyr/backend:typo"}])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for(
            "typo", lambda s: container_status(s)["state"].get("waiting", {}).get("reason") == "ImagePullBackOff"
        )
        assert status["phase"] == "Pending"
        seen = {
            c["state"].get("waiting", {}).get("reason")
            for _, n, _, s in env.sink.statuses
            for c in s["containerStatuses"]
            if n == "typo"
        }
        assert "ErrImagePull" in seen
        failed = [m for p, t, r, m in env.sink.events if r == "Failed" and t == "Warning"]
        assert failed[0].startswith('Failed to pull image "zephyr/backend:typo": rpc error: code = NotFound')
        assert failed[0].endswith("docker.io/zephyr/backend:typo: not found")
        assert "Error: ImagePullBackOff" in failed
        assert 'Back-off pulling image "zephyr/backend:typo"' in [m for *_, r, m in env.sink.events if r == "BackOff"]

    env.run(body)


def test_an_image_mapped_to_a_missing_command_is_a_run_container_error_with_runcs_words(env: Env) -> None:
    env.images = env.images.merged(ImageMap({"broken:1": ImageSpec(entrypoint=("drillbook-no-such-server",))}))
    pod = make_pod("nocmd", [{"name": "app", "image": "broken:1"}])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for("nocmd", lambda s: _waiting_reason(s) == "RunContainerError")
        waiting = container_status(status)["state"]["waiting"]
        assert waiting["message"].endswith(
            'exec: "drillbook-no-such-server": executable file not found in $PATH: unknown'
        )
        assert ("nocmd", "Warning", "Failed", f"Error: {waiting['message']}") in env.sink.events
        assert status["phase"] == "Pending"
        # It retries with the crash-loop back-off, as upstream does, and never gets further.
        back_off = await env.sink.wait_event("nocmd", "BackOff")
        assert back_off.startswith("Back-off restarting failed container app in pod nocmd_default(")
        assert "Started" not in env.sink.reasons("nocmd")

    env.run(body)


def test_fixing_the_image_in_place_restarts_the_container(env: Env) -> None:
    pod = make_pod(
        "typo", [{"name": "app", "image": "nope:1", "command": ["python", "-c", "print('up')"]}], restartPolicy="Never"
    )

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await env.sink.wait_event("typo", "BackOff")
        pod["spec"]["containers"][0]["image"] = "python:3"
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for("typo", lambda s: s["phase"] == "Succeeded")
        assert container_status(status)["image"] == "python:3"

    env.run(body)


def test_missing_secret_key_is_create_container_config_error_until_the_secret_exists(env: Env) -> None:
    container = python_container(
        "app",
        "import os; print('pw=' + os.environ['PW'])",
        env=[{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
    )
    pod = make_pod("cfg", [container], restartPolicy="Never")

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for(
            "cfg",
            lambda s: container_status(s)["state"].get("waiting", {}).get("reason") == "CreateContainerConfigError",
        )
        assert container_status(status)["state"]["waiting"]["message"] == 'secret "db" not found'
        assert ("cfg", "Warning", "Failed", 'Error: secret "db" not found') in env.sink.events
        env.lookup.add("secrets", "default", {"metadata": {"name": "db"}, "data": {"password": "czNjcjN0"}})
        await env.sink.wait_for("cfg", lambda s: s["phase"] == "Succeeded")
        lines = [chunk async for chunk in kubelet.logs("default", "cfg", None)]
        assert lines == [b"pw=s3cr3t\n"]

    env.run(body)


def test_init_containers_run_in_order_before_the_containers(env: Env) -> None:
    pod = make_pod(
        "init",
        [python_container("app", "print('main')")],
        initContainers=[python_container("first", "import time; time.sleep(0.3)"), python_container("second", "pass")],
        restartPolicy="Never",
    )

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        pending = await env.sink.wait_for("init", lambda s: "running" in s["initContainerStatuses"][0]["state"])
        assert pending["phase"] == "Pending"
        assert container_status(pending)["state"]["waiting"]["reason"] == "PodInitializing"
        initialized = next(c for c in pending["conditions"] if c["type"] == "Initialized")
        assert initialized["status"] == "False"
        done = await env.sink.wait_for("init", lambda s: s["phase"] == "Succeeded")
        assert [c["state"]["terminated"]["reason"] for c in done["initContainerStatuses"]] == ["Completed", "Completed"]
        started = [m for p, _, r, m in env.sink.events if r == "Started"]
        assert started == ["Started container first", "Started container second", "Started container app"]

    env.run(body)


def test_service_env_vars_and_var_expansion_reach_the_process(env: Env) -> None:
    env.lookup.add(
        "services",
        "default",
        {"metadata": {"name": "redis"}, "spec": {"clusterIP": "127.20.0.3", "ports": [{"port": 6379}]}},
    )
    container = {
        "name": "app",
        "image": "shell:1",
        "args": ["echo $REDIS_SERVICE_HOST:$REDIS_SERVICE_PORT $1 $2 $HOSTNAME", "sh", "$(ADDR)", "$$(ADDR)"],
        "env": [{"name": "ADDR", "value": "redis://$(REDIS_SERVICE_HOST):$(REDIS_SERVICE_PORT)"}],
    }
    pod = make_pod("svc", [container], restartPolicy="Never")

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await env.sink.wait_for("svc", lambda s: s["phase"] == "Succeeded")
        out = b"".join([chunk async for chunk in kubelet.logs("default", "svc", "app")])
        assert out == b"127.20.0.3:6379 redis://127.20.0.3:6379 $(ADDR) svc\n"

    env.run(body)


def test_liveness_failure_kills_and_restarts_the_container(env: Env) -> None:
    probe = {"tcpSocket": {"port": 9999}, "periodSeconds": 2, "failureThreshold": 2}
    pod = make_pod(
        "live",
        [python_container("app", "import time; time.sleep(60)", livenessProbe=probe)],
        terminationGracePeriodSeconds=2,
    )

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for("live", lambda s: container_status(s)["restartCount"] >= 1)
        # SIGTERM (143) normally; SIGKILL after the 0.1 s grace (137) when a loaded machine had not forked it yet.
        assert container_status(status)["lastState"]["terminated"]["exitCode"] in (143, 137)
        killing = await env.sink.wait_event("live", "Killing")
        assert killing == "Container app failed liveness probe, will be restarted"
        unhealthy = await env.sink.wait_event("live", "Unhealthy")
        assert unhealthy.startswith("Liveness probe failed: dial tcp 127.10.")
        assert unhealthy.endswith(":9999: connect: connection refused")

    env.run(body)


def test_startup_probe_gates_started_and_readiness_until_it_succeeds(env: Env, tmp_path: Path) -> None:
    flag = tmp_path / "warm"
    code = f"import pathlib, time\ntime.sleep(0.6)\npathlib.Path({str(flag)!r}).touch()\ntime.sleep(30)\n"
    probe = {"exec": {"command": ["test", "-f", str(flag)]}, "periodSeconds": 2, "failureThreshold": 30}
    pod = make_pod("warm", [python_container("app", code, startupProbe=probe)])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        running = await env.sink.wait_for("warm", lambda s: "running" in container_status(s)["state"])
        assert container_status(running)["started"] is False
        assert not _ready(running)
        status = await env.sink.wait_for("warm", _ready)
        assert container_status(status)["started"] is True
        assert flag.exists()
        assert "Startup probe failed:" in [m.split(" probe failed:")[0] + " probe failed:" for m in _unhealthy(env)]

    env.run(body)


def test_a_second_kill_with_zero_grace_ends_a_slow_termination_at_once(env: Env) -> None:
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready')\ntime.sleep(60)\n"
    pod = make_pod("force", [python_container("app", code)], terminationGracePeriodSeconds=600)

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await env.sink.wait_for("force", lambda s: "running" in container_status(s)["state"])
        while b"ready" not in b"".join([chunk async for chunk in kubelet.logs("default", "force", None)]):
            await asyncio.sleep(0.02)  # SIGTERM is ignored only once the handler is installed
        graceful = asyncio.create_task(kubelet.kill_pod(pod))  # 600 s * 0.05 = 30 s of grace
        await asyncio.sleep(0.3)
        assert not graceful.done()
        await asyncio.wait_for(kubelet.kill_pod(pod, grace_period_s=0), timeout=10)
        await asyncio.wait_for(graceful, timeout=10)
        assert container_status(env.sink.latest("force"))["state"]["terminated"]["exitCode"] == 137

    env.run(body)


def _unhealthy(env: Env) -> list[str]:
    return [m for *_, r, m in env.sink.events if r == "Unhealthy"]


def test_on_failure_policy_restarts_failures_and_stops_after_success(env: Env, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    code = (
        f"import pathlib, sys\np = pathlib.Path({str(counter)!r})\nn = len(p.read_text()) if p.exists() else 0\n"
        "p.write_text('x' * (n + 1))\nsys.exit(0 if n >= 1 else 1)\n"
    )
    pod = make_pod("jobish", [python_container("app", code)], restartPolicy="OnFailure")

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for("jobish", lambda s: s["phase"] == "Succeeded")
        assert container_status(status)["restartCount"] == 1
        assert container_status(status)["state"]["terminated"]["reason"] == "Completed"
        assert counter.read_text() == "xx"
        with pytest.raises(KubeletError, match=r'container not found \("app"\)') as info:
            await kubelet.exec("default", "jobish", "app", ["true"], stdin=False, tty=False)
        assert info.value.http_status == 400

    env.run(body)


def test_a_container_slow_to_start_is_not_killed_before_its_liveness_probes_real_window(env: Env) -> None:
    # Upstream kills after 3 failed probes 2 s apart: 6 s. Scaled, the probes come every 0.1 s, but a process that
    # takes 4 s to start (twenty replicas importing at once on 2 cores) must still be let boot.
    code = "import time\ntime.sleep(4)\n" + HTTP_SERVER
    probe = {"tcpSocket": {"port": 8080}, "periodSeconds": 2, "failureThreshold": 3}
    pod = make_pod("slow", [python_container("app", code, livenessProbe=probe, readinessProbe=probe)])

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        status = await env.sink.wait_for("slow", _ready, timeout=20.0)
        assert container_status(status)["restartCount"] == 0
        assert "Killing" not in env.sink.reasons("slow")

    env.run(body)


def test_a_container_starts_at_a_lower_cpu_priority_until_it_first_turns_ready(env: Env, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only a root kubelet may give a container its priority back, so only root lowers one")
    gate = tmp_path / "ready"
    code = HTTP_SERVER.replace(
        'self.send_response(200 if self.path == "/ready" else 404)',
        f'self.send_response(200 if self.path == "/ready" and os.path.exists({str(gate)!r}) else 503)',
    )
    probe = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}
    plain = "import time; time.sleep(60)"
    pod = make_pod("web", [python_container("web", code, readinessProbe=probe), python_container("plain", plain)])

    def nice_of(marker: str) -> set[int]:
        """The nice values of the container's processes (its shim and its program), found by their command line."""
        procs = [p for p in psutil.Process().children(recursive=True) if marker in " ".join(p.cmdline())]
        assert procs, f"no process runs {marker!r}"
        return {p.nice() for p in procs}

    async def body(kubelet: Kubelet) -> None:
        await kubelet.sync_pod(pod)
        await env.sink.wait_event("web", "Unhealthy")  # its server answers 503: running, not ready yet
        assert nice_of("HTTPServer") == {STARTING_NICE}, "a starting replica yields the CPU to serving ones"
        assert nice_of(plain) == {0}, "a container without a readiness probe is never lowered"
        gate.touch()
        await env.sink.wait_for("web", _ready)
        assert nice_of("HTTPServer") == {0}, "a ready replica gets its normal priority back"

    env.run(body)
