"""PostgreSQL and Redis as testcontainers containers from drillbook's locally built images.

The containers publish no host port: the sandbox reaches them on their bridge address (a network the engine made
for this run's containers), through the fault proxy on loopback. Each container carries the managed label and the
run's id, so ``drillbook cleanup`` removes exactly the containers of a killed run. Ryuk (testcontainers' reaper) is
off: it is an image from a registry, and drillbook reaps by label instead.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

from drillbook.errors import DatastoreError
from drillbook.platform.docker.images import IMAGES, MANAGED_LABEL
from drillbook.platform.local.datastores._host import free_port

RUN_LABEL = "org.drillbook.run"


@dataclass
class DatastoreContainer:
    """A started datastore container: where it listens and how to stop it."""

    kind: str
    container: Any
    """The testcontainers container (``PostgresContainer`` or ``RedisContainer``)."""
    ip: str
    """The container's address on the engine's bridge network."""
    port: int
    """The port inside the container."""
    container_id: str
    loopback_port: int
    """The port the container is published on at 127.0.0.1: where the fault proxy connects upstream."""

    def stop(self) -> None:
        """Stop and remove the container (idempotent)."""
        try:
            self.container.stop()
        except Exception as exc:  # the engine may already have removed it; say so, never hide a leak
            raise DatastoreError(f"could not remove {self.kind} container {self.container_id[:12]}: {exc}") from exc


def _testcontainers_env() -> None:
    # testcontainers reads this when its config module is first imported: set it before, at the edge.
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    # Containers are published on 127.0.0.1 only: reach them there, also when drillbook itself runs in a
    # container (testcontainers would otherwise talk to the bridge gateway).
    os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
    os.environ.setdefault("TC_HOST", "127.0.0.1")


def _labels(run_id: str) -> dict[str, str]:
    return {MANAGED_LABEL: "true", RUN_LABEL: run_id}


def _on_loopback(container: Any, port: int, run_id: str) -> None:
    # Published on 127.0.0.1 only, never on the host's other interfaces, at a port chosen now: a stopped and
    # restarted container (its Deployment scaled to zero and back, :mod:`.handle`) keeps it, and so do the
    # Endpoints and the fault proxy that name it.
    container.ports = {f"{port}/tcp": ("127.0.0.1", free_port())}
    container.with_kwargs(labels=_labels(run_id))


def _bridge_ip(container: Any) -> str:
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    networks = wrapped.attrs["NetworkSettings"]["Networks"]
    for network in networks.values():
        if network.get("IPAddress"):
            return str(network["IPAddress"])
    raise DatastoreError(f"container {wrapped.id[:12]} has no bridge address; is the engine's bridge network up?")


def start_postgres(
    run_id: str, *, user: str, password: str, database: str, settings: dict[str, str]
) -> DatastoreContainer:
    """Start PostgreSQL 15 with ``user`` as its superuser owning ``database``.

    Raises:
        DatastoreError: the container did not start or answer, with its logs.
    """
    _testcontainers_env()
    from testcontainers.community.postgres import PostgresContainer

    spec = IMAGES["postgres"]
    container = PostgresContainer(
        spec.tag, port=spec.port, username=user, password=password, dbname=database, driver=None
    )
    _on_loopback(container, spec.port, run_id)
    args = [f"-c {name}={value}" for name, value in sorted(settings.items())]
    if args:
        container.with_command(" ".join(args))
    return _started("postgres", container, spec.port)


def start_redis(run_id: str, *, maxmemory: str | None = None) -> DatastoreContainer:
    """Start Redis (no persistence), optionally with a memory limit."""
    _testcontainers_env()
    from testcontainers.community.redis import RedisContainer

    spec = IMAGES["redis"]
    container = RedisContainer(spec.tag, port=spec.port)
    _on_loopback(container, spec.port, run_id)
    if maxmemory:
        container.with_command(f"--maxmemory {maxmemory} --maxmemory-policy allkeys-lru")
    return _started("redis", container, spec.port)


def _started(kind: str, container: Any, port: int) -> DatastoreContainer:
    try:
        container.start()
    except Exception as exc:
        logs = ""
        try:
            out, err = container.get_logs()
            logs = (out + err).decode(errors="replace")[-1500:]
        except Exception:  # no container to read logs from: the start itself failed
            logs = "(no logs: the container did not start)"
        with contextlib.suppress(Exception):  # already gone
            container.stop()
        raise DatastoreError(
            f"expected the {kind} container to start and answer, it failed: {exc}\nLast log lines:\n{logs}\n"
            "Hint: run 'drillbook images build' first; the images are built locally, never pulled."
        ) from exc
    wrapped = container.get_wrapped_container()
    return DatastoreContainer(
        kind, container, _bridge_ip(container), port, wrapped.id, int(container.get_exposed_port(port))
    )


def remove_run_containers(run_id: str) -> list[str]:
    """Remove every container this run labelled; return their ids (for cleanup after a kill)."""
    import docker  # type: ignore[import-untyped]

    client = docker.from_env()
    removed = []
    labels = [f"{MANAGED_LABEL}=true", f"{RUN_LABEL}={run_id}"]
    for found in client.containers.list(all=True, filters={"label": labels}):
        found.remove(force=True)
        removed.append(found.id)
    return removed
