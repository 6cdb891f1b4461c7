"""Service proxies: a loopback TCP listener per service port, balancing over ready endpoints (round robin)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from drillbook.platform.local.kube.store import Store

JsonObj = dict[str, Any]
log = logging.getLogger(__name__)
Key = tuple[str, str, str, int]  # namespace, service, clusterIP, port


class ServiceProxies:
    """Keeps one listener per (service, port) in step with the store; ``sync`` is cheap when nothing changed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._servers: dict[Key, asyncio.Server] = {}
        self._pending: set[Key] = set()
        self._failed: set[Key] = set()
        self._counter = itertools.count()
        self._conns: set[asyncio.Task[None]] = set()
        self._listeners: set[asyncio.Future[None]] = set()

    def sync(self) -> None:
        """Open listeners for new service ports and close those of deleted ones."""
        wanted: dict[Key, JsonObj] = {}
        for svc in self._store.list("services"):
            ip = (svc.get("spec") or {}).get("clusterIP")
            if not ip or ip == "None" or not ip.startswith("127."):
                continue
            for port in svc["spec"].get("ports") or []:
                if port.get("protocol", "TCP") == "TCP":
                    wanted[(svc["metadata"]["namespace"], svc["metadata"]["name"], ip, int(port["port"]))] = port
        for key in list(self._servers):
            if key not in wanted:
                self._servers.pop(key).close()
        for key, port in wanted.items():
            if key not in self._servers and key not in self._pending and key not in self._failed:
                self._pending.add(key)
                task = asyncio.ensure_future(self._listen(key, port.get("name", "")))
                self._listeners.add(task)
                task.add_done_callback(self._listeners.discard)

    async def _listen(self, key: Key, port_name: str) -> None:
        ns, name, ip, port = key

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._conns.add(task)
            try:
                await self._proxy(ns, name, port_name, reader, writer)
            finally:
                if task is not None:
                    self._conns.discard(task)

        try:
            self._servers[key] = await asyncio.start_server(handle, ip, port, reuse_address=True)
        except OSError as exc:
            self._failed.add(key)
            log.warning("service %s/%s: cannot listen on %s:%d (%s)", ns, name, ip, port, exc)
        finally:
            self._pending.discard(key)

    def _backends(self, ns: str, name: str, port_name: str) -> list[tuple[str, int]]:
        ep = self._store.get("endpoints", ns, name) or {}
        out = []
        for subset in ep.get("subsets") or []:
            ports = [p for p in subset.get("ports") or [] if p.get("name", "") == port_name] or subset.get("ports", [])
            for address in subset.get("addresses") or []:
                for p in ports[:1]:
                    out.append((address["ip"], int(p["port"])))
        return out

    async def _proxy(
        self, ns: str, name: str, port_name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        backends = self._backends(ns, name, port_name)
        if not backends:  # like kube-proxy with no endpoints: refuse by closing at once
            writer.close()
            return
        start = next(self._counter)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for n in range(len(backends)):
            host, port = backends[(start + n) % len(backends)]
            try:
                upstream = await asyncio.open_connection(host, port)
                break
            except OSError:
                continue
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)

    async def close(self) -> None:
        """Close every listener and connection."""
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
