"""One proxied TCP connection: two sockets (``Side``) joined by two links (upstream, downstream).

Forwarding is a Protocol-based relay: while a link has no toxic in force, bytes go from the reading socket's
``data_received`` straight into the other socket's transport, with no task switch, queue or copy, and the
transports' own flow control (pause_writing → pause_reading) as backpressure. Only while toxics are present (or
data they handled is still queued) do chunks go through a writer task that runs the toxic pipeline; once the queue
is empty and the chain is gone, the link is back on the direct path. Order is kept across both switches because
the direct path is taken only when nothing is queued or in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from drillbook.platform.local.toxiproxy.metrics import ByteMeter
from drillbook.platform.local.toxiproxy.toxics.base import Chunk, Stream, Toxic

#: Chunks a link queues for its toxics before it stops reading (backpressure towards the sender).
QUEUE_DEPTH = 32


@dataclass
class Attachment:
    """A toxic as applied to one link: its toxicity roll, per-link state and background task."""

    toxic: Toxic
    active: bool
    state: Any
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Side(asyncio.Protocol):
    """One socket of a proxied connection: feeds what it reads to its link and reports its write backlog.

    Data that arrives before the connection is joined (an upstream that greets first) is held, with reading
    paused, and handed over by ``join``.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        #: The link that reads from this socket, and the one that writes to it.
        self.reader: ProxyLink | None = None
        self.writer: ProxyLink | None = None
        self._early: list[bytes] = []
        self._early_eof = False
        self._early_lost = False
        self._writable: asyncio.Future[None] | None = None
        self.write_paused = False
        #: Why reading is paused: the peer's write buffer is full, and/or the toxic queue is full.
        self._pause_reasons: set[str] = set()
        #: Resolved when the socket is gone, so a writer waiting for buffer room stops waiting.
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol ------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport (uvloop's are not asyncio.Transport subclasses, so no isinstance check).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.reader is None:
            self._early.append(data)
            self.pause_reading("unjoined")
            return
        self.reader.feed(data)

    def eof_received(self) -> bool:
        if self.reader is None:
            self._early_eof = True
        else:
            self.reader.feed_eof()
        return True  # keep the other direction open: a half-close is passed on, not turned into a close

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self._wake_writer()
        if self.reader is None:
            self._early_lost = True
            return
        self.reader.connection.close()

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.writer is not None:
            self.writer.source.pause_reading("peer-full")

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_writer()
        if self.writer is not None:
            self.writer.source.resume_reading("peer-full")

    # -- used by links -------------------------------------------------------------------------------
    def join(self, reader: ProxyLink, writer: ProxyLink) -> None:
        """Attach the links; replay what arrived before."""
        self.reader, self.writer = reader, writer
        early, self._early = self._early, []
        for data in early:
            reader.feed(data)
        if self._early_eof:
            reader.feed_eof()
        if self._early_lost:
            reader.connection.close()
            return
        self.resume_reading("unjoined")

    def pause_reading(self, reason: str) -> None:
        """Stop reading for ``reason`` (reading resumes when every reason is gone)."""
        if not self._pause_reasons and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self._pause_reasons.add(reason)

    def resume_reading(self, reason: str) -> None:
        """Drop ``reason`` for pausing; resume reading if none is left."""
        if reason not in self._pause_reasons:
            return
        self._pause_reasons.discard(reason)
        if not self._pause_reasons and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    async def drain(self) -> None:
        """Wait until the write buffer is below its high-water mark (or the socket is gone)."""
        while self.write_paused and not self.lost.done():
            self._writable = asyncio.get_running_loop().create_future()
            await self._writable

    def _wake_writer(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)


class ProxyLink:
    """Carries one direction of a connection, directly or through the chain of toxics for its stream."""

    def __init__(
        self, connection: Connection, stream: Stream, source: Side, sink: Side, meter: ByteMeter | None = None
    ) -> None:
        self.connection = connection
        self.stream = stream
        self.source = source
        self.sink = sink
        self._meter = meter
        self._attached: dict[str, Attachment] = {}
        #: The active attachments, kept current by attach/detach so the per-chunk check is one truth test.
        self._active: list[Attachment] = []
        #: Chunks (None = end of stream) waiting for the writer task; only used while toxics are or were present.
        self._queue: deque[Chunk | None] = deque()
        self._queued = asyncio.Event()
        #: True while the writer task is pushing a chunk through the toxics.
        self._busy = False
        #: Resolved once the end of the stream was passed on (or the connection closed).
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

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
        self._active = self._chain()
        if attachment.active:
            attachment.task = asyncio.create_task(toxic.run(self, attachment.state))

    def detach(self, name: str, *, run_hooks: bool = True) -> None:
        """Stop applying the toxic ``name``; pending sleeps of it end at once."""
        attachment = self._attached.pop(name, None)
        if attachment is None:
            return
        self._active = self._chain()
        attachment.interrupted.set()
        if attachment.task is not None:
            attachment.task.cancel()
        if run_hooks and attachment.active:
            self.connection.spawn(attachment.toxic.on_remove(self, attachment.state))

    def detach_all(self) -> None:
        """Detach every toxic without running removal hooks (the connection is going away)."""
        for name in list(self._attached):
            self.detach(name, run_hooks=False)

    def _chain(self) -> list[Attachment]:
        return [a for a in self._attached.values() if a.active]

    # -- forwarding --------------------------------------------------------------------------------
    def _toxic_path(self) -> bool:
        return bool(self._busy or self._queue or self._active)

    def feed(self, data: bytes) -> None:
        """Bytes read from the source: straight to the sink, or queued for the toxics."""
        if self._meter is not None:
            self._meter.received[self.stream] += len(data)
        if self.connection.closed:
            return
        if self._toxic_path():
            self._enqueue(Chunk(data, self.now()))
            return
        self._write(data)

    def feed_eof(self) -> None:
        """The source half-closed: pass it on now, or after the queued chunks and the toxics' ``on_eof``."""
        if self._toxic_path():
            self._enqueue(None)
        elif not self.connection.closed:
            self._write_eof()

    def _enqueue(self, chunk: Chunk | None) -> None:
        self._queue.append(chunk)
        self._queued.set()
        if len(self._queue) >= QUEUE_DEPTH:
            self.source.pause_reading("queue-full")

    def _write(self, data: bytes) -> None:
        transport = self.sink.transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        if self._meter is not None:
            self._meter.sent[self.stream] += len(data)

    def _write_eof(self) -> None:
        transport = self.sink.transport
        if transport is not None and transport.can_write_eof() and not transport.is_closing():
            with contextlib.suppress(OSError, RuntimeError):
                transport.write_eof()
        if not self.done.done():
            self.done.set_result(None)

    async def write_loop(self) -> None:
        """Push each queued chunk through the toxics in force at that moment and write what comes out."""
        try:
            while True:
                while not self._queue:
                    self._queued.clear()
                    await self._queued.wait()
                chunk = self._queue.popleft()
                if len(self._queue) < QUEUE_DEPTH // 2:
                    self.source.resume_reading("queue-full")
                if chunk is None:
                    break
                self._busy = True
                async for piece in _through(chunk, self._active, self):
                    if self.connection.closed:
                        return
                    self._write(piece.data)
                    await self.sink.drain()
                self._busy = False
            for attachment in self._active:
                await attachment.toxic.on_eof(self, attachment.state)
            if not self.connection.closed:
                self._write_eof()
        except (ConnectionError, OSError):
            self.connection.close()


async def _through(chunk: Chunk, chain: Sequence[Attachment], link: ProxyLink) -> AsyncIterator[Chunk]:
    if not chain:
        yield chunk
        return
    head, rest = chain[0], chain[1:]
    async for piece in head.toxic.pipe(chunk, link, head.state):
        async for out in _through(piece, rest, link):
            yield out


class Connection:
    """A client socket and its upstream socket, joined by two links."""

    def __init__(
        self,
        client: Side,
        upstream: Side,
        toxics: Sequence[Toxic],
        on_done: Callable[[Connection], None],
        meter: ByteMeter | None = None,
    ) -> None:
        self._sides = (client, upstream)
        self.links: dict[Stream, ProxyLink] = {
            "upstream": ProxyLink(self, "upstream", client, upstream, meter),
            "downstream": ProxyLink(self, "downstream", upstream, client, meter),
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
        """Forward both directions until both ends closed (or the connection is closed)."""
        up, down = self.links["upstream"], self.links["downstream"]
        self._pumps = [asyncio.create_task(up.write_loop()), asyncio.create_task(down.write_loop())]
        client, upstream = self._sides
        client.join(up, down)
        upstream.join(down, up)
        try:
            await asyncio.wait([up.done, down.done], return_when=asyncio.ALL_COMPLETED)
        finally:
            self.close()
            await asyncio.gather(*self._pumps, return_exceptions=True)

    def close(self, *, reset: bool = False) -> None:
        """Close both sockets (with RST when ``reset``) and stop every toxic on this connection."""
        if self.closed:
            return
        self.closed = True
        for side in self._sides:
            transport = side.transport
            if transport is None:
                continue
            if reset:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        # Linger 0: close() sends RST and discards unsent data, "connection reset by peer".
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            else:
                transport.close()
        for link in self.links.values():
            link.detach_all()
            if not link.done.done():
                link.done.set_result(None)
        current = asyncio.current_task()
        for task in [*self._tasks, *self._pumps]:
            if task is not current:
                task.cancel()
        self._on_done(self)
