"""A tiny aiohttp service on 127.0.0.1, run on its own thread, that tests can switch to failing.

A uniquely named module, and no ``conftest.py`` in this folder: other folders import helpers with
``from conftest import …``, which breaks as soon as two folders' conftests are collected together.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


class TinyService:
    """``/ok`` answers 200, ``/slow`` after 50 ms, ``/missing`` 404, ``POST /items`` 201; ``failing`` makes all 500."""

    def __init__(self) -> None:
        self.failing = False
        self.url = ""
        self.hits = 0
        self.peers: set[object] = set()
        """The client ``(host, port)`` of every connection a request came over."""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="tiny-service", daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if request.transport is not None:
            self.peers.add(request.transport.get_extra_info("peername"))
        if self.failing:
            return web.Response(status=500, text="injected failure")
        if request.path == "/slow":
            await asyncio.sleep(0.05)
        if request.path == "/missing":
            return web.Response(status=404, text="not here")
        if request.method == "POST":
            body = await request.json()
            return web.json_response({"created": body}, status=201)
        return web.json_response({"ok": True})

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@contextmanager
def running_service() -> Iterator[TinyService]:
    """A started service, always stopped afterwards."""
    tiny = TinyService()
    tiny.start()
    try:
        yield tiny
    finally:
        tiny.stop()
