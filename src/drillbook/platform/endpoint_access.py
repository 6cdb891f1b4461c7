"""Real clusters: reach a Service from the host through its *ready endpoints*, following them as pods come and go.

``kubectl port-forward svc/NAME`` picks one pod when it starts and dies with it, so a pod-kill or a bad release
would strand the harness's traffic (and the verdict would blame the runbook). Here each Service gets a loopback
listener; every connection it accepts goes to a pod that the Service's Endpoints list as ready *now*, through a
``kubectl port-forward pod/POD`` kept per pod. A connection whose pod is gone is retried on another ready pod
until ``connect_timeout_s``; a replaced pod is thus followed on the next connection (HTTP clients reconnect).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from drillbook.errors import ClusterError

CONNECT_TIMEOUT_S = 20.0
"""How long one connection waits for a ready endpoint (a Deployment replacing its pod takes seconds)."""
FORWARD_READY_S = 15.0
"""How long a new ``kubectl port-forward`` gets to open its local port."""


@dataclass(frozen=True)
class Target:
    """A ready endpoint: the pod behind it and the pod's port."""

    pod: str
    port: int


def ready_targets(service: Mapping[str, Any], endpoints: Mapping[str, Any], port: int) -> list[Target]:
    """The ready endpoints of ``service``'s ``port`` as listed by its Endpoints object (plain API dicts).

    Raises:
        ClusterError: the Service has no such port (says which it has).
    """
    ports = service.get("spec", {}).get("ports") or []
    chosen = next((p for p in ports if int(p.get("port", 0)) == port), None)
    if chosen is None:
        meta = service.get("metadata", {})
        known = [int(p.get("port", 0)) for p in ports]
        raise ClusterError(f"service {meta.get('namespace')}/{meta.get('name')} has no port {port}; it has {known}")
    targets: list[Target] = []
    for subset in endpoints.get("subsets") or []:
        subset_ports = subset.get("ports") or []
        named = [p for p in subset_ports if p.get("name") == chosen.get("name")] if chosen.get("name") else []
        match = named or (subset_ports if len(subset_ports) == 1 else [])
        if not match:
            continue
        for address in subset.get("addresses") or []:  # notReadyAddresses are not served
            ref = address.get("targetRef") or {}
            if ref.get("kind") == "Pod" and ref.get("name"):
                targets.append(Target(str(ref["name"]), int(match[0]["port"])))
    return targets


class PodForwards:
    """One ``kubectl port-forward pod/POD`` per (namespace, pod, port), started on first use."""

    def __init__(self, kube_env: Mapping[str, str]) -> None:
        self.kube_env = dict(kube_env)
        self._lock = threading.Lock()
        self._forwards: dict[tuple[str, str, int], tuple[subprocess.Popen[bytes], int]] = {}

    def connect(self, namespace: str, target: Target, timeout_s: float) -> socket.socket:
        """A connection to ``target`` through its forward (started if needed).

        Raises:
            OSError: the forward could not be reached (its pod is gone or the forward died); it is dropped.
        """
        key = (namespace, target.pod, target.port)
        _, local = self._forward(key)
        try:
            return socket.create_connection(("127.0.0.1", local), timeout=timeout_s)
        except OSError:
            self.drop(key)
            raise

    def _forward(self, key: tuple[str, str, int]) -> tuple[subprocess.Popen[bytes], int]:
        # Under the lock throughout: a forward is shared only once it listens (one starting is never torn down by a
        # caller that found it not listening yet); starting one is rare, so the wait it makes others do is short.
        with self._lock:
            found = self._forwards.get(key)
            if found is not None and found[0].poll() is None:
                return found
            namespace, pod, port = key
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                local = int(probe.getsockname()[1])
            argv = [
                "kubectl",
                "port-forward",
                "--address",
                "127.0.0.1",
                "-n",
                namespace,
                f"pod/{pod}",
                f"{local}:{port}",
            ]
            process = subprocess.Popen(
                argv,
                env={**os.environ, **self.kube_env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            deadline = time.monotonic() + FORWARD_READY_S
            while time.monotonic() < deadline and process.poll() is None:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), timeout=0.5):
                    self._forwards[key] = (process, local)
                    return process, local
                time.sleep(0.1)
        _end(process)
        raise OSError(f"kubectl port-forward to {namespace}/{pod}:{port} did not open within {FORWARD_READY_S:.0f} s")

    def drop(self, key: tuple[str, str, int]) -> None:
        """End one forward (its pod went away)."""
        with self._lock:
            found = self._forwards.pop(key, None)
        if found is not None:
            _end(found[0])

    def pods(self) -> list[str]:
        """The pods forwarded to now (for diagnostics and tests)."""
        with self._lock:
            return [pod for (_, pod, _), (process, _) in self._forwards.items() if process.poll() is None]

    def close(self) -> None:
        """End every forward."""
        with self._lock:
            forwards, self._forwards = list(self._forwards.values()), {}
        for process, _ in forwards:
            _end(process)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    if process.poll() is None:
        process.kill()
        process.wait()


class EndpointAccess:
    """A :class:`~drillbook.platform.kube_sandbox.ServiceAccess` that follows each Service's ready endpoints."""

    def __init__(self, kube_env: Mapping[str, str], api_client: Any, connect_timeout_s: float = CONNECT_TIMEOUT_S):
        self.core = client.CoreV1Api(api_client)
        self.api_client = api_client
        self.forwards = PodForwards(kube_env)
        self.connect_timeout_s = connect_timeout_s
        self._listeners: dict[tuple[str, str, int], _Listener] = {}
        self._lock = threading.Lock()

    def address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        """A loopback address whose connections reach a ready endpoint of the Service."""
        service = self._service(namespace, name)
        ports = [int(p["port"]) for p in service.get("spec", {}).get("ports") or []]
        chosen = port if port is not None else (ports[0] if ports else None)
        if chosen is None or chosen not in ports:
            raise ClusterError(f"service {namespace}/{name} has no port {port}; it has {ports}")
        key = (namespace, name, chosen)
        with self._lock:
            if key not in self._listeners:
                self._listeners[key] = _Listener(self, namespace, name, chosen)
            return "127.0.0.1", self._listeners[key].port

    def targets(self, namespace: str, name: str, port: int) -> list[Target]:
        """The Service's ready endpoints now."""
        try:
            endpoints = self.core.read_namespaced_endpoints(name, namespace)
        except client.ApiException:
            return []
        listed: dict[str, Any] = self.api_client.sanitize_for_serialization(endpoints)
        return ready_targets(self._service(namespace, name), listed, port)

    def _service(self, namespace: str, name: str) -> dict[str, Any]:
        try:
            found = self.core.read_namespaced_service(name, namespace)
        except client.ApiException as exc:
            raise ClusterError(f"service {namespace}/{name} not found in the sandbox ({exc.status})") from exc
        service: dict[str, Any] = self.api_client.sanitize_for_serialization(found)
        return service

    def close(self) -> None:
        """Stop listening and end every forward."""
        with self._lock:
            listeners, self._listeners = list(self._listeners.values()), {}
        for listener in listeners:
            listener.close()
        self.forwards.close()


class _Listener:
    """One Service port's loopback listener: each connection spliced to a ready endpoint."""

    def __init__(self, access: EndpointAccess, namespace: str, service: str, port: int) -> None:
        self.access, self.namespace, self.service, self.service_port = access, namespace, service, port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self._turn = itertools.count()
        self._closed = False
        threading.Thread(target=self._accept, name=f"drillbook-access-{service}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _upstream(self) -> socket.socket | None:
        deadline = time.monotonic() + self.access.connect_timeout_s
        while not self._closed and time.monotonic() < deadline:
            targets = self.access.targets(self.namespace, self.service, self.service_port)
            if targets:
                target = targets[next(self._turn) % len(targets)]
                with contextlib.suppress(OSError):
                    return self.access.forwards.connect(self.namespace, target, timeout_s=5.0)
            time.sleep(0.2)
        return None

    def _serve(self, conn: socket.socket) -> None:
        upstream = self._upstream()
        if upstream is None:
            conn.close()  # no ready endpoint in time: the client sees a refused request, as from a real Service
            return
        threading.Thread(target=_pipe, args=(upstream, conn), daemon=True).start()
        _pipe(conn, upstream)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.server.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until either side closes, then close both."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
