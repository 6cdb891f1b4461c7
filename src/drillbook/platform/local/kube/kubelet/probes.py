"""Container probes (httpGet, tcpSocket, exec) with upstream timing fields and failure wording."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

JsonObj = dict[str, Any]

#: Probe periods and delays are scaled by the time factor but never below this (real seconds).
MIN_PERIOD_S = 0.05
#: The first kill by a liveness/startup probe waits the probe's nominal window, unscaled, up to this many seconds.
KILL_ALLOWANCE_S = 30.0


@dataclass(frozen=True)
class ProbeTiming:
    """A probe's timing in real seconds, already scaled."""

    initial_delay_s: float
    period_s: float
    timeout_s: float
    failure_threshold: int
    success_threshold: int
    first_kill_s: float = 0.0
    """Real seconds from the probe's start before it may kill a container that has never passed it (0: no hold)."""

    @classmethod
    def from_spec(cls, spec: JsonObj, time_factor: float, *, kills: bool = False) -> ProbeTiming:
        """Read upstream fields (defaults: period 10 s, timeout 1 s, failureThreshold 3, successThreshold 1).

        Args:
            spec: The probe object.
            time_factor: Scales delays and periods.
            kills: True for liveness and startup probes. They probe on the scaled schedule, but a container that
                has never passed is not killed before the nominal window (``initialDelaySeconds + periodSeconds *
                failureThreshold``, at most :data:`KILL_ALLOWANCE_S`): process start-up is real and is not scaled.
                With a 3 s allowance, a scale-out from 3 to 20 replicas on 2 cores had every new replica killed
                while it was still importing its framework (each takes about a CPU-second), restarted, and killed
                again: an outage of the sandbox's making, where Kubernetes lets the same replicas boot.
        """
        timeout = float(spec.get("timeoutSeconds", 1))
        nominal_delay = float(spec.get("initialDelaySeconds", 0))
        period = max(float(spec.get("periodSeconds", 10)) * time_factor, MIN_PERIOD_S)
        failures = int(spec.get("failureThreshold", 3))
        delay = nominal_delay * time_factor
        first_kill = 0.0
        if kills:
            nominal_window = nominal_delay + float(spec.get("periodSeconds", 10)) * failures
            first_kill = max(delay + period * failures, min(nominal_window, KILL_ALLOWANCE_S))
        return cls(
            initial_delay_s=delay,
            period_s=period,
            # A timeout bounds how long a real process may take to answer, and a process answers no faster in the
            # sandbox: it is never scaled (only raised to half a second, so a loaded machine fails no healthy probe).
            # Scaled to 0.4 s, readiness failed every serving replica while a scale-out's new ones started.
            timeout_s=max(timeout, 0.5),
            failure_threshold=failures,
            success_threshold=int(spec.get("successThreshold", 1)),
            first_kill_s=first_kill,
        )


@dataclass(frozen=True)
class ProbeTarget:
    """Where a container listens and how to run commands in it."""

    pod_ip: str
    ports: Mapping[str, int]  # named container ports
    env: Mapping[str, str]
    cwd: str | None


def _port(value: Any, target: ProbeTarget) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    if value in target.ports:
        return target.ports[value]
    raise ValueError(f"unknown named port {value!r}; the container declares {sorted(target.ports)}")


async def _http(spec: JsonObj, target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    host = spec.get("host") or target.pod_ip
    port = _port(spec.get("port"), target)
    path = spec.get("path") or "/"
    url = f"{str(spec.get('scheme', 'HTTP')).lower()}://{host}:{port}{path}"
    headers = "".join(f"{h['name']}: {h['value']}\r\n" for h in spec.get("httpHeaders") or [])
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.32\r\n"
                f"Accept: */*\r\n{headers}Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
            status_line = await reader.readline()
    except TimeoutError:
        return False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    except OSError as exc:
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else (exc.strerror or str(exc))
        return False, f'Get "{url}": dial tcp {host}:{port}: connect: {reason}'
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return False, f'Get "{url}": malformed HTTP response {status_line[:80]!r}'
    code = int(parts[1])
    if 200 <= code < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {code}"


async def _tcp(spec: JsonObj, target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    host = spec.get("host") or target.pod_ip
    port = _port(spec.get("port"), target)
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return False, f"dial tcp {host}:{port}: i/o timeout"
    except OSError as exc:
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else (exc.strerror or str(exc))
        return False, f"dial tcp {host}:{port}: connect: {reason}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True, ""


async def _exec(spec: JsonObj, target: ProbeTarget, timeout: float) -> tuple[bool, str]:
    from drillbook.platform.local.kube.kubelet.process import ExecProcess

    command = [str(c) for c in spec.get("command") or []]
    if not command:
        return False, "exec probe has no command"
    try:
        proc = await ExecProcess.start(command, target.env, target.cwd, stdin=False)
    except OSError as exc:
        return False, f"exec probe could not start {command[0]!r}: {exc}"
    output = b""
    try:
        async with asyncio.timeout(timeout):
            while (item := await proc.read()) is not None:
                output += item[1]
            code = await proc.wait()
    except TimeoutError:
        await proc.kill()
        return False, f"command {' '.join(command)!r} timed out"
    text = output.decode(errors="replace")
    return (True, text) if code == 0 else (False, text)


async def run_probe(spec: JsonObj, target: ProbeTarget, timeout_s: float) -> tuple[bool, str]:
    """Run a probe once; returns (success, upstream-worded detail for an Unhealthy event)."""
    try:
        if "httpGet" in spec:
            return await _http(spec["httpGet"], target, timeout_s)
        if "tcpSocket" in spec:
            return await _tcp(spec["tcpSocket"], target, timeout_s)
        if "exec" in spec:
            return await _exec(spec["exec"], target, timeout_s)
    except ValueError as exc:
        return False, str(exc)
    return False, "probe has none of httpGet, tcpSocket, exec (grpc probes are not supported by localkube)"


class ProbeWorker:
    """Runs one probe of one container run periodically and reports threshold crossings."""

    def __init__(
        self,
        kind: str,
        spec: JsonObj,
        target: ProbeTarget,
        *,
        time_factor: float,
        on_unhealthy: Callable[[str], Awaitable[None]],
        on_change: Callable[[bool], Awaitable[None]],
    ) -> None:
        """Create a worker.

        Args:
            kind: "Liveness", "Readiness" or "Startup" (used in event wording).
            spec: The probe object from the container spec.
            target: Where to probe.
            time_factor: Scales delays and periods.
            on_unhealthy: Called with the Unhealthy event message on every failed attempt.
            on_change: Called with the new result when success/failure thresholds are crossed.
        """
        self.kind = kind
        self._spec = spec
        self._target = target
        self.timing = ProbeTiming.from_spec(spec, time_factor, kills=kind != "Readiness")
        self._on_unhealthy = on_unhealthy
        self._on_change = on_change

    async def run(self) -> None:
        """Probe until cancelled (or, for startup probes, until the first success)."""
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(self.timing.initial_delay_s)
        successes = failures = 0
        result: bool | None = None
        while True:
            ok, detail = await run_probe(self._spec, self._target, self.timing.timeout_s)
            if ok:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
                await self._on_unhealthy(f"{self.kind} probe failed: {detail}".rstrip())
            if ok and successes >= self.timing.success_threshold and result is not True:
                result = True
                await self._on_change(True)
                if self.kind == "Startup":
                    return
            elif (
                not ok
                and failures >= self.timing.failure_threshold
                and result is not False
                and (result is True or asyncio.get_running_loop().time() - started >= self.timing.first_kill_s)
            ):
                result = False
                await self._on_change(False)
                if self.kind != "Readiness":
                    return
            await asyncio.sleep(self.timing.period_s)
