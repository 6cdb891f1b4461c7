"""drillbook's locustfile: loaded only by the ``locust`` subprocess that :class:`LoadGenerator` starts.

Never import this module from drillbook code: importing locust monkey-patches the standard library with
gevent. It talks to its parent through inherited pipes named by environment variables:

* ``DRILLBOOK_RECORD_FD``: one JSON line per finished request (see ``drillbook.slo.RequestRecord``);
* ``DRILLBOOK_CONTROL_FD``: JSON lines from the parent, ``{"users": N, "spawn_rate": R}``; end of file means
  the parent is gone or done, and the run ends;
* ``DRILLBOOK_PARENT_PID``: the run also ends when the parent process dies (this process is re-parented);
* ``DRILLBOOK_TRAFFIC_PROFILE``: a JSON traffic profile (see ``drillbook.traffic.profile``).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
from gevent import os as gos
from locust import events
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.user.wait_time import constant_throughput

_ERROR_CHARS = 300  # keeps every record line far below PIPE_BUF, so writes never interleave


class DrillbookUser(FastHttpUser):
    """A user calling the profile's endpoints by weight; configured from the profile at init."""

    # Tasks and pacing are set in _configure() once the profile is read; locust requires a wait_time.
    wait_time = constant_throughput(5.0)
    requests_per_connection = 10


def _make_task(method: str, path: str, name: str, body: Any) -> Any:
    def task(user: DrillbookUser) -> None:
        if body is None:
            user.client.request(method, path, name=name)
        else:
            user.client.request(method, path, name=name, json=body)
        _recycle_connection(user)

    task.__name__ = f"task_{name}"
    return task


def _recycle_connection(user: DrillbookUser) -> None:
    """After ``requests_per_connection`` requests, close the user's connection: its next request opens a new one,
    which the Service balances over the replicas ready then (a scale-out reaches the users, as it does a real
    service's arriving clients)."""
    sent = getattr(user, "_sent_on_connection", 0) + 1
    if sent >= DrillbookUser.requests_per_connection:
        user.client.client.close()  # geventhttpclient's pool: the next request connects afresh
        sent = 0
    user._sent_on_connection = sent  # type: ignore[attr-defined]


def _configure(profile: dict[str, Any]) -> None:
    DrillbookUser.requests_per_connection = max(1, int(profile.get("requests_per_connection", 10)))
    DrillbookUser.wait_time = constant_throughput(float(profile.get("per_user_rps", 5.0)))
    timeout = float(profile.get("timeout_s", 5.0))
    DrillbookUser.network_timeout = timeout
    DrillbookUser.connection_timeout = timeout
    # A task listed ``weight`` times is picked that much more often (locust's list form of weights).
    DrillbookUser.tasks = [
        _make_task(e["method"], e["path"], e["name"], e.get("json"))
        for e in profile["endpoints"]
        for _ in range(int(e.get("weight", 1)))
    ]


class _Channel:
    """The record pipe to the parent; writes yield to other greenlets instead of blocking the process."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        gos.make_nonblocking(fd)

    def send(self, line: dict[str, Any]) -> None:
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
        try:
            while data:
                written = gos.nb_write(self.fd, data)
                data = data[written:]
        except OSError:
            _stop_soon(None)  # the parent closed its end: nobody is listening any more


_ENV: dict[str, Environment] = {}


def _stop_soon(environment: Environment | None) -> None:
    env = environment or _ENV.get("env")
    if env is not None and env.runner is not None:
        env.runner.quit()
    # A hard exit if a graceful quit hangs: this process must never outlive its purpose.
    gevent.spawn_later(3.0, os._exit, 0)


def _control_loop(environment: Environment, fd: int) -> None:
    gos.make_nonblocking(fd)
    buffer = b""
    while True:
        try:
            chunk = gos.nb_read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            _stop_soon(environment)
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            message = json.loads(line)
            users = int(message["users"])
            spawn_rate = float(message.get("spawn_rate") or max(users, 1))
            if environment.runner is not None:
                environment.runner.start(users, spawn_rate)


def _parent_watch(environment: Environment, parent: int) -> None:
    while os.getppid() == parent:
        gevent.sleep(0.5)
    _stop_soon(environment)


def _on_init(environment: Environment, **_kwargs: Any) -> None:
    _ENV["env"] = environment
    with open(os.environ["DRILLBOOK_TRAFFIC_PROFILE"], encoding="utf-8") as handle:
        _configure(json.load(handle))
    channel = _Channel(int(os.environ["DRILLBOOK_RECORD_FD"]))

    def on_request(
        request_type: str,
        name: str,
        response_time: float,
        response: Any = None,
        exception: BaseException | None = None,
        **_more: Any,
    ) -> None:
        status = int(getattr(response, "status_code", 0) or 0)
        error = None if exception is None else f"{type(exception).__name__}: {exception}"[:_ERROR_CHARS]
        channel.send(
            {
                "ts": time.time(),
                "name": name,
                "method": request_type,
                "status": status,
                "ok": exception is None,
                "latency_ms": float(response_time or 0.0),
                "error": error,
            }
        )

    environment.events.request.add_listener(on_request)  # type: ignore[no-untyped-call]
    gevent.spawn(_control_loop, environment, int(os.environ["DRILLBOOK_CONTROL_FD"]))
    gevent.spawn(_parent_watch, environment, int(os.environ["DRILLBOOK_PARENT_PID"]))


events.init.add_listener(_on_init)  # type: ignore[no-untyped-call]
