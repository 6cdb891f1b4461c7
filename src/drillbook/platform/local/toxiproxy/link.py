"""One proxied TCP connection: two links (upstream, downstream), each a reader and a toxic-applying writer."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from drillbook.platform.local.toxiproxy.metrics import ByteMeter
from drillbook.platform.local.toxiproxy.toxics.base import Chunk, Stream, Toxic

#: Bytes per read; small enough that toxics act on a fine grain, large enough for loopback throughput.
READ_SIZE = 32 * 1024
#: Chunks a link buffers before it stops reading (backpressure towards the sender).
QUEUE_DEPTH = 32


@dataclass
class Attachment:
    """A toxic as applied to one link: its toxicity roll, per-link state and background task."""

    toxic: Toxic
    active: bool
    state: Any
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class ProxyLink:
    """Carries one direction of a connection through the chain of toxics for its stream."""

    def __init__(
        self,
        connection: Connection,
        stream: Stream,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        meter: ByteMeter | None = None,
    ) -> None:
        self.connection = connection
        self.stream = stream
        self._reader = reader
        self._writer = writer
        self._meter = meter
        self._queue: asyncio.Queue[Chunk | None] = asyncio.Queue(QUEUE_DEPTH)
        self._attached: dict[str, Attachment] = {}
        #: True while the writer task is pushing a chunk through the toxics.
        self._busy = False

    # -- the Link protocol toxics see -------------------------------------------------------------
    def now(self) -> float:
        """Loop time."""
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float, toxic: Toxic) -> bool:
        """Sleep; return False early if ``toxic`` is removed or replaced on this link."""
        attachment = self._attached.get(toxic.name)
        if attachment is None or attachment.toxic is not toxic:
            return False
        if seconds <= 0:
            return True
        try:
            await asyncio.wait_for(attachment.interrupted.wait(), seconds)
        except TimeoutError:
            return True
        return False

    def close(self, *, reset: bool = False) -> None:
        """Close the whole connection."""
        self.connection.close(reset=reset)

    # -- toxic management ------------------------------------------------------------------------
    def attach(self, toxic: Toxic) -> None:
        """Apply ``toxic`` to this link from now on (rolling its toxicity once)."""
        previous = self._attached.get(toxic.name)
        if previous is not None:  # an update: keep the toxic's place in the chain
            previous.interrupted.set()
            if previous.task is not None:
                previous.task.cancel()
        attachment = Attachment(toxic, random.random() < toxic.toxicity, toxic.new_state())
        self._attached[toxic.name] = attachment
        if attachment.active:
            attachment.task = asyncio.create_task(toxic.run(self, attachment.state))

    def detach(self, name: str, *, run_hooks: bool = True) -> None:
        """Stop applying the toxic ``name``; pending sleeps of it end at once."""
        attachment = self._attached.pop(name, None)
        if attachment is None:
            return
        attachment.interrupted.set()
        if attachment.task is not None:
            attachment.task.cancel()
        if run_hooks and attachment.active:
            self.connection.spawn(attachment.toxic.on_remove(self, attachment.state))

    def _chain(self) -> list[Attachment]:
        return [a for a in self._attached.values() if a.active]

    # -- pumping -----------------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        self._writer.write(data)
        if self._meter is not None:
            self._meter.sent[self.stream] += len(data)

    async def read_loop(self) -> None:
        """Read chunks, stamp them and queue them; None marks the end of the stream."""
        try:
            while data := await self._reader.read(READ_SIZE):
                if self._meter is not None:
                    self._meter.received[self.stream] += len(data)
                if self._busy or not self._queue.empty() or self._chain():
                    await self._queue.put(Chunk(data, self.now()))
                    continue
                # Fast path: no toxic in force and nothing queued, so order is kept without the writer task.
                if self.connection.closed:
                    break
                self._write(data)
                await self._writer.drain()
        except (ConnectionError, OSError):
            self.connection.close()
        finally:
            await self._queue.put(None)

    async def write_loop(self) -> None:
        """Push each chunk through the toxics in force at that moment and write what comes out."""
        try:
            while (chunk := await self._queue.get()) is not None:
                self._busy = True
                async for piece in _through(chunk, self._chain(), self):
                    if self.connection.closed:
                        return
                    self._write(piece.data)
                    await self._writer.drain()
                self._busy = False
            for attachment in self._chain():
                await attachment.toxic.on_eof(self, attachment.state)
            if self._writer.can_write_eof() and not self._writer.is_closing():
                self._writer.write_eof()
        except (ConnectionError, OSError):
            self.connection.close()

    def detach_all(self) -> None:
        """Detach every toxic without running removal hooks (the connection is going away)."""
        for name in list(self._attached):
            self.detach(name, run_hooks=False)


async def _through(chunk: Chunk, chain: Sequence[Attachment], link: ProxyLink) -> AsyncIterator[Chunk]:
    if not chain:
        yield chunk
        return
    head, rest = chain[0], chain[1:]
    async for piece in head.toxic.pipe(chunk, link, head.state):
        async for out in _through(piece, rest, link):
            yield out


class Connection:
    """A client connection and its upstream connection, joined by two links."""

    def __init__(
        self,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        toxics: Sequence[Toxic],
        on_done: Callable[[Connection], None],
        meter: ByteMeter | None = None,
    ) -> None:
        self._client_writer = client[1]
        self._upstream_writer = upstream[1]
        self.links: dict[Stream, ProxyLink] = {
            "upstream": ProxyLink(self, "upstream", client[0], upstream[1], meter),
            "downstream": ProxyLink(self, "downstream", upstream[0], client[1], meter),
        }
        self._tasks: set[asyncio.Task[None]] = set()
        self._pumps: list[asyncio.Task[None]] = []
        self._on_done = on_done
        self.closed = False
        for toxic in toxics:
            self.links[toxic.stream].attach(toxic)

    def spawn(self, coro: Any) -> None:
        """Run a coroutine tied to this connection's lifetime."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Pump both directions until both ends closed (or the connection is closed)."""
        up, down = self.links["upstream"], self.links["downstream"]
        self._pumps = [
            asyncio.create_task(coro) for coro in (up.read_loop(), up.write_loop(), down.read_loop(), down.write_loop())
        ]
        try:
            await asyncio.wait([self._pumps[1], self._pumps[3]], return_when=asyncio.ALL_COMPLETED)
        finally:
            self.close()
            await asyncio.gather(*self._pumps, return_exceptions=True)

    def close(self, *, reset: bool = False) -> None:
        """Close both sockets (with RST when ``reset``) and stop every toxic on this connection."""
        if self.closed:
            return
        self.closed = True
        for writer in (self._client_writer, self._upstream_writer):
            if reset:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        # Linger 0: close() sends RST and discards unsent data, "connection reset by peer".
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            else:
                writer.close()
        for link in self.links.values():
            link.detach_all()
        current = asyncio.current_task()
        for task in [*self._tasks, *self._pumps]:
            if task is not current:
                task.cancel()
        self._on_done(self)
