"""The relay's switch between the direct path and the toxic pipeline, on fake transports (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

from drillbook.platform.local.toxiproxy.link import Connection, Side
from drillbook.platform.local.toxiproxy.toxics.noop import NoopToxic


class FakeTransport(asyncio.Transport):
    """Records what is written to it and whether reading is paused."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.eof = False
        self.closed = False
        self.reading = True

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def joined() -> tuple[Side, Side, FakeTransport, FakeTransport, Connection]:
    client, upstream = Side(), Side()
    client_t, upstream_t = FakeTransport(), FakeTransport()
    client.connection_made(client_t)
    upstream.connection_made(upstream_t)
    return client, upstream, client_t, upstream_t, Connection(client, upstream, [], lambda _: None)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_bytes_go_direct_then_through_a_toxic_then_direct_again_in_order() -> None:
    async def scenario() -> None:
        client, _, _, upstream_t, connection = joined()
        running = asyncio.create_task(connection.run())
        await settle()
        client.data_received(b"a")
        assert upstream_t.written == [b"a"], "with no toxic the bytes are written within data_received"
        toxic = NoopToxic("n", "upstream", 1.0, {})
        connection.links["upstream"].attach(toxic)
        client.data_received(b"b")
        assert upstream_t.written == [b"a"], "with a toxic in force the chunk waits for the pipeline"
        await settle()
        assert upstream_t.written == [b"a", b"b"]
        connection.links["upstream"].detach("n")
        client.data_received(b"c")
        assert upstream_t.written == [b"a", b"b", b"c"], "once the toxic is gone the direct path is back"
        connection.close()
        await running

    asyncio.run(scenario())


def test_a_full_peer_buffer_pauses_reading_on_the_other_side_until_it_drains() -> None:
    async def scenario() -> None:
        _, upstream, client_t, _, connection = joined()
        running = asyncio.create_task(connection.run())
        await settle()
        upstream.pause_writing()
        assert not client_t.reading, "the client is not read while the upstream cannot take more"
        upstream.resume_writing()
        assert client_t.reading
        connection.close()
        await running

    asyncio.run(scenario())


def test_data_and_eof_that_arrive_before_the_join_are_passed_on_in_order() -> None:
    async def scenario() -> None:
        client, upstream = Side(), Side()
        client_t, upstream_t = FakeTransport(), FakeTransport()
        client.connection_made(client_t)
        upstream.connection_made(upstream_t)
        upstream.data_received(b"greeting")
        assert not upstream_t.reading, "an unjoined side stops reading and holds what it got"
        connection = Connection(client, upstream, [], lambda _: None)
        running = asyncio.create_task(connection.run())
        await settle()
        assert client_t.written == [b"greeting"]
        assert upstream_t.reading
        client.eof_received()
        assert upstream_t.eof, "a half-close is passed on"
        connection.close()
        await running

    asyncio.run(scenario())
