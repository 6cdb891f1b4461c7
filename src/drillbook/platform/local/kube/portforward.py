"""``pods/<p>/portforward``: TCP to a pod's port over a WebSocket, in the two protocols clients speak.

* ``v4``/``v5.channel.k8s.io`` (the Python client): ports from ``?ports=``; port i uses channel 2i for data and 2i+1
  for errors; the server opens every channel with the port number (2 bytes, little endian) and connects to each port
  at once. A port that refuses gets an error text on its error channel.
* ``SPDY/3.1+portforward.k8s.io`` (kubectl 1.31+): SPDY frames inside binary messages. Every local connection opens
  an ``error`` and a ``data`` stream (headers ``streamtype``, ``port``, ``requestid``); data flows on the data stream
  and a half-close is a FIN.

Connections go to the pod IP (a loopback address); nothing is bound here, kubectl binds its own loopback listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.spdy import GOAWAY, PING, RST_STREAM, SYN_STREAM, Codec, Frame, SpdyError
from drillbook.platform.local.kube.status import ApiStatusError, bad_request, not_found

JsonObj = dict[str, Any]
log = logging.getLogger(__name__)
SPDY_TUNNEL = "SPDY/3.1+portforward.k8s.io"
CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
CHUNK = 32 * 1024


def _target(api: Api, namespace: str, name: str) -> tuple[JsonObj, str]:
    pod = api.store.get("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    status = pod.get("status") or {}
    ip = status.get("podIP")
    if status.get("phase") != "Running" or not ip:
        raise bad_request(f"unable to upgrade connection: pod {name} is not running (phase {status.get('phase')})")
    return pod, str(ip)


def _ports(request: web.Request) -> list[int]:
    values = [p for raw in request.query.getall("ports", []) for p in raw.split(",") if p.strip()]
    try:
        ports = [int(p) for p in values]
    except ValueError as exc:
        raise bad_request(f"expected numeric ports, got {values}") from exc
    if not ports or any(not 0 < p < 65536 for p in ports):
        raise bad_request(f"expected at least one port between 1 and 65535 in ?ports=, got {values}")
    return ports


#: Real seconds after a container starts during which a refused connection is retried: local stand-ins (an
#: interpreter starting up) bind their port a little after the process starts, where a real image's server is
#: listening almost at once.
STARTUP_GRACE_S = 5.0


def _last_start(pod: JsonObj) -> float:
    started = 0.0
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        stamp = ((status.get("state") or {}).get("running") or {}).get("startedAt")
        if stamp:
            with contextlib.suppress(ValueError):
                started = max(started, datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    return started


async def _connect(pod: JsonObj, ip: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the pod's port, retrying a refusal while its containers have just started."""
    deadline = _last_start(pod) + STARTUP_GRACE_S
    while True:
        try:
            return await asyncio.open_connection(ip, port)
        except ConnectionRefusedError:
            if time.time() >= deadline:
                raise
            await asyncio.sleep(0.05)


def _refused(pod: JsonObj, port: int, exc: OSError) -> str:
    meta = pod["metadata"]
    return (
        f"error forwarding port {port} to pod {meta['name']}, uid {meta.get('uid', '')}: "
        f"failed to connect to localhost:{port}: {exc.strerror or exc}"
    )


async def serve(request: web.Request, api: Api, namespace: str, name: str) -> web.StreamResponse:
    """Upgrade to a WebSocket and forward; picks the protocol from the offered subprotocols."""
    pod, ip = _target(api, namespace, name)
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    spdy = SPDY_TUNNEL in offered
    ports = [] if spdy else _ports(request)
    ws = web.WebSocketResponse(protocols=(SPDY_TUNNEL,) if spdy else CHANNEL_PROTOCOLS, max_msg_size=0)
    if not ws.can_prepare(request).ok:
        raise ApiStatusError(
            400,
            "Upgrade request required: port-forward needs a WebSocket (SPDY/3.1+portforward.k8s.io or "
            "v4.channel.k8s.io); a bare SPDY upgrade is not served",
            reason="BadRequest",
        )
    await ws.prepare(request)
    try:
        if spdy:
            await _SpdyTunnel(ws, pod, ip).run()
        else:
            await _channels(ws, pod, ip, ports)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        await ws.close()
    return ws


# -- the channel protocol (Python client) ------------------------------------------------------------------------
async def _channels(ws: web.WebSocketResponse, pod: JsonObj, ip: str, ports: list[int]) -> None:
    writers: dict[int, asyncio.StreamWriter] = {}
    pumps: list[asyncio.Task[None]] = []
    for index, port in enumerate(ports):
        header = port.to_bytes(2, "little")
        await ws.send_bytes(bytes([2 * index]) + header)
        await ws.send_bytes(bytes([2 * index + 1]) + header)
    for index, port in enumerate(ports):
        try:
            reader, writer = await _connect(pod, ip, port)
        except OSError as exc:
            await ws.send_bytes(bytes([2 * index + 1]) + _refused(pod, port, exc).encode())
            continue
        writers[index] = writer
        pumps.append(asyncio.create_task(_pod_to_channel(ws, reader, 2 * index)))
    try:
        async for msg in ws:
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT) or len(msg.data) < 2:
                continue
            raw = msg.data.encode() if isinstance(msg.data, str) else msg.data
            channel, data = raw[0], raw[1:]
            target = writers.get(channel // 2) if channel % 2 == 0 else None
            if target is not None and not target.is_closing():
                target.write(data)
                with contextlib.suppress(ConnectionError):
                    await target.drain()
    finally:
        for task in pumps:
            task.cancel()
        for writer in writers.values():
            writer.close()


async def _pod_to_channel(ws: web.WebSocketResponse, reader: asyncio.StreamReader, channel: int) -> None:
    # The pod closing its side ends this channel only: the client ends the session when its sockets are done.
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(CHUNK):
            await ws.send_bytes(bytes([channel]) + chunk)


# -- SPDY through the WebSocket (kubectl) ------------------------------------------------------------------------
@dataclass
class _Request:
    """One local connection of kubectl: its error and data streams and the pod connection."""

    port: int
    error_stream: int = 0
    data_stream: int = 0
    writer: asyncio.StreamWriter | None = None
    pump: asyncio.Task[None] | None = None
    pending: list[bytes] = field(default_factory=list)
    client_done: bool = False


class _SpdyTunnel:
    def __init__(self, ws: web.WebSocketResponse, pod: JsonObj, ip: str) -> None:
        self.ws, self.pod, self.ip = ws, pod, ip
        self.codec = Codec()
        self.requests: dict[str, _Request] = {}
        self.by_stream: dict[int, _Request] = {}
        self._send_lock = asyncio.Lock()

    async def send(self, frame: bytes) -> None:
        async with self._send_lock:  # one writer: zlib context and frame order are per connection
            await self.ws.send_bytes(frame)

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY:
                    continue
                for frame in self.codec.feed(msg.data):
                    if not await self.handle(frame):
                        return
        except SpdyError as exc:
            log.warning("port-forward: dropping a bad SPDY connection: %s", exc)
        finally:
            for req in self.requests.values():
                self._close(req)

    async def handle(self, frame: Frame) -> bool:
        if frame.type == SYN_STREAM:
            await self._open(frame)
        elif frame.type == 0:
            await self._data(frame)
        elif frame.type == RST_STREAM:
            req = self.by_stream.get(frame.stream_id)
            if req is not None and frame.stream_id == req.data_stream:
                self._close(req)
        elif frame.type == PING:
            await self.send(Codec.ping(frame.data))
        elif frame.type == GOAWAY:
            return False
        return True  # SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do without flow control

    async def _open(self, frame: Frame) -> None:
        headers = frame.headers
        async with self._send_lock:
            await self.ws.send_bytes(self.codec.syn_reply(frame.stream_id))
        try:
            port = int(headers.get("port", ""))
        except ValueError:
            await self.send(Codec.rst_stream(frame.stream_id))
            return
        key = headers.get("requestid", str(frame.stream_id))
        req = self.requests.setdefault(key, _Request(port))
        self.by_stream[frame.stream_id] = req
        if headers.get("streamtype") == "error":
            req.error_stream = frame.stream_id
        elif headers.get("streamtype") == "data":
            req.data_stream = frame.stream_id
            req.client_done = frame.fin
            # In a task: a connection retried during a pod's start must not hold up the other streams' frames.
            req.pump = asyncio.create_task(self._connect(req))

    async def _connect(self, req: _Request) -> None:
        try:
            reader, writer = await _connect(self.pod, self.ip, req.port)
        except OSError as exc:
            if req.error_stream:
                await self.send(Codec.data(req.error_stream, _refused(self.pod, req.port, exc).encode(), fin=True))
            await self.send(Codec.data(req.data_stream, b"", fin=True))
            return
        req.writer = writer
        for chunk in req.pending:
            writer.write(chunk)
        req.pending.clear()
        if req.client_done and writer.can_write_eof():
            writer.write_eof()
        req.pump = asyncio.create_task(self._pod_to_stream(reader, req))

    async def _pod_to_stream(self, reader: asyncio.StreamReader, req: _Request) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(CHUNK):
                await self.send(Codec.data(req.data_stream, chunk))
        # kubectl finishes a connection only once its error stream ends too (empty: no error).
        with contextlib.suppress(ConnectionError):
            await self.send(Codec.data(req.data_stream, b"", fin=True))
            if req.error_stream:
                await self.send(Codec.data(req.error_stream, b"", fin=True))

    async def _data(self, frame: Frame) -> None:
        req = self.by_stream.get(frame.stream_id)
        if req is None or frame.stream_id != req.data_stream:
            return  # the error stream carries nothing from the client
        if req.writer is None:
            req.pending.append(frame.data)
            req.client_done = req.client_done or frame.fin
            return
        if frame.data and not req.writer.is_closing():
            req.writer.write(frame.data)
            with contextlib.suppress(ConnectionError):
                await req.writer.drain()
        if frame.fin and req.writer.can_write_eof() and not req.writer.is_closing():
            with contextlib.suppress(OSError):
                req.writer.write_eof()

    def _close(self, req: _Request) -> None:
        if req.pump is not None:
            req.pump.cancel()
        if req.writer is not None:
            req.writer.close()
