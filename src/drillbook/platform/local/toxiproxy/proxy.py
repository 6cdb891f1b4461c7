"""A named proxy: a loopback listener, its upstream, its live connections and its toxic chain."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from drillbook.platform.local.toxiproxy.addresses import HostPolicy, join_address
from drillbook.platform.local.toxiproxy.errors import TOXIC_EXISTS, TOXIC_NOT_FOUND, ApiError
from drillbook.platform.local.toxiproxy.link import Connection, Side
from drillbook.platform.local.toxiproxy.metrics import TrafficMetrics
from drillbook.platform.local.toxiproxy.toxics.base import Toxic

log = logging.getLogger(__name__)


class Proxy:
    """Accepts on ``listen``, connects each client to ``upstream`` and applies the toxics to both."""

    def __init__(
        self,
        name: str,
        listen: str,
        upstream: str,
        policy: HostPolicy | None = None,
        metrics: TrafficMetrics | None = None,
    ) -> None:
        self.policy = policy or HostPolicy()
        self.metrics = metrics
        self.policy.listen(listen)
        self.policy.upstream(upstream)
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[Toxic] = []
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    def to_json(self) -> dict[str, Any]:
        """The JSON Toxiproxy returns for a proxy (upstream toxics first, like its chain order)."""
        ordered = [t for t in self.toxics if t.stream == "upstream"] + [
            t for t in self.toxics if t.stream == "downstream"
        ]
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in ordered],
        }

    async def start(self) -> None:
        """Listen (a no-op when enabled); ``listen`` then names the bound port."""
        if self._server is not None:
            return
        host, port = self.policy.listen(self.listen)
        try:
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(self._side_for_client, host, port, reuse_address=True)
        except OSError as exc:
            raise ApiError(f"listen tcp {self.listen}: {exc.strerror or exc}", 500) from exc
        bound_port = self._server.sockets[0].getsockname()[1]
        self.listen = join_address(host, bound_port)
        self.enabled = True

    async def stop(self) -> None:
        """Stop listening (new clients get "connection refused") and drop every live connection."""
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._connections):
            connection.close()
        if self._handlers:
            # Closing the connections ends their handlers; only one still dialling upstream needs a cancel.
            _, pending = await asyncio.wait(list(self._handlers), timeout=1.0)
            for task in pending:
                task.cancel()

    def _side_for_client(self) -> Side:
        return _ClientSide(self)

    async def _accept(self, client: Side) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            host, port = self.policy.upstream(self.upstream)
            loop = asyncio.get_running_loop()
            try:
                _, upstream = await asyncio.wait_for(loop.create_connection(Side, host, port), 5.0)
            except (OSError, TimeoutError) as exc:
                log.warning("proxy %s: upstream %s unreachable: %s", self.name, self.upstream, exc)
                return
            meter = self.metrics.meter(self.name, self.listen, self.upstream) if self.metrics is not None else None
            connection = Connection(client, upstream, self.toxics, self._connections.discard, meter)
            self._connections.add(connection)
            await connection.run()
        except asyncio.CancelledError:
            return
        finally:
            if client.transport is not None:
                client.transport.close()
            if task is not None:
                self._handlers.discard(task)

    # -- toxics --------------------------------------------------------------------------------------
    def find_toxic(self, name: str) -> Toxic:
        """The toxic called ``name`` or a 404."""
        for toxic in self.toxics:
            if toxic.name == name:
                return toxic
        raise TOXIC_NOT_FOUND

    def add_toxic(self, toxic: Toxic) -> None:
        """Append ``toxic`` to its stream's chain; live connections get it at once."""
        if any(t.name == toxic.name for t in self.toxics):
            raise TOXIC_EXISTS
        self.toxics.append(toxic)
        for connection in list(self._connections):
            connection.links[toxic.stream].attach(toxic)

    def replace_toxic(self, toxic: Toxic) -> None:
        """Swap in an updated toxic with the same name, keeping its place in the chain."""
        index = self.toxics.index(self.find_toxic(toxic.name))
        self.toxics[index] = toxic
        for connection in list(self._connections):
            connection.links[toxic.stream].attach(toxic)

    def remove_toxic(self, name: str) -> None:
        """Remove a toxic; data it holds back on live connections is released at once."""
        toxic = self.find_toxic(name)
        self.toxics.remove(toxic)
        for connection in list(self._connections):
            connection.links[toxic.stream].detach(name)

    def reset_toxics(self) -> None:
        """Remove every toxic."""
        for toxic in list(self.toxics):
            self.remove_toxic(toxic.name)


class _ClientSide(Side):
    """A client socket: its arrival starts the handler that dials the upstream and joins the two."""

    def __init__(self, proxy: Proxy) -> None:
        super().__init__()
        self._proxy = proxy

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        asyncio.get_running_loop().create_task(self._proxy._accept(self))
