"""Streaming pod subresources: ``log`` (chunked text), ``exec`` and ``attach`` (WebSocket, v5/v4.channel.k8s.io)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import WSMsgType, web

from drillbook.errors import ClusterError
from drillbook.platform.local.kube.api import Api
from drillbook.platform.local.kube.status import ApiStatusError, bad_request, not_found

JsonObj = dict[str, Any]
SUBPROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def _kubelet_status(exc: ClusterError) -> ApiStatusError:
    code = int(getattr(exc, "http_status", 500))
    return ApiStatusError(code, str(exc))


def _pick_container(pod: JsonObj, container: str | None) -> str | None:
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    if container is None and len(names) > 1:
        raise bad_request(
            f"a container name must be specified for pod {pod['metadata']['name']}, choose one of: [{' '.join(names)}]"
        )
    if container is not None and container not in names:
        init = [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
        if container not in init:
            raise bad_request(f"container {container} is not valid for pod {pod['metadata']['name']}")
    return container


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise bad_request(f"expected an integer, got {value!r}") from exc


async def logs(request: web.Request, api: Api, namespace: str, name: str) -> web.StreamResponse:
    """``GET pods/<p>/log``: proxies ``Kubelet.logs`` as a chunked plain-text stream."""
    pod = api.store.get("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    if api.kubelet is None:
        raise ApiStatusError(503, "no kubelet is running", reason="ServiceUnavailable")
    q = request.query
    container = _pick_container(pod, q.get("container"))
    since = _int(q.get("sinceSeconds"))
    try:
        # The kubelet may refuse at call time or on the first chunk; both become a Status.
        stream = api.kubelet.logs(
            namespace,
            name,
            container,
            previous=q.get("previous") == "true",
            tail_lines=_int(q.get("tailLines")),
            since_seconds=float(since) if since is not None else None,
            timestamps=q.get("timestamps") == "true",
            follow=q.get("follow") == "true",
            limit_bytes=_int(q.get("limitBytes")),
        )
        first: bytes | None = await stream.__anext__()
    except StopAsyncIteration:
        first = None
    except ClusterError as exc:
        raise _kubelet_status(exc) from exc
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        if first:
            await resp.write(first)
            async for chunk in stream:
                await resp.write(chunk)
    except (ConnectionResetError, ClusterError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()  # type: ignore[attr-defined]
    return resp


def exit_status(code: int) -> JsonObj:
    """The channel-3 ``Status`` for an exit code."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def start_failure(message: str) -> JsonObj:
    """The channel-3 ``Status`` when the command could not start: upstream's InternalError, causes carry the text."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {message}",
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


def _compact(body: JsonObj) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


async def exec_ws(request: web.Request, api: Api, namespace: str, name: str) -> web.StreamResponse:
    """``pods/<p>/exec`` over WebSocket: channel 0 stdin, 1 stdout, 2 stderr, 3 status, 255 close."""
    pod = api.store.get("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    if api.kubelet is None:
        raise ApiStatusError(503, "no kubelet is running", reason="ServiceUnavailable")
    command = request.query.getall("command", [])
    if not command:
        raise bad_request("you must specify at least one command for the container")
    container = _pick_container(pod, request.query.get("container"))
    ws = web.WebSocketResponse(protocols=SUBPROTOCOLS, max_msg_size=0)
    if not ws.can_prepare(request).ok:
        raise bad_request("Upgrade request required: exec needs a WebSocket (v5.channel.k8s.io); SPDY is not served")
    await ws.prepare(request)
    try:
        session = await api.kubelet.exec(
            namespace,
            name,
            container,
            list(command),
            stdin=request.query.get("stdin") in ("true", "1"),
            tty=request.query.get("tty") in ("true", "1"),
        )
    except ClusterError as exc:
        await ws.send_bytes(bytes([ERROR]) + _compact(start_failure(str(exc))))
        await ws.close()
        return ws

    async def pump_out() -> None:
        while (chunk := await session.read()) is not None:
            channel, data = chunk
            await ws.send_bytes(bytes([channel]) + data)

    async def pump_in() -> None:
        async for msg in ws:
            # The Python client sends str stdin as TEXT frames ("\x00echo hi\n"); the API server takes both kinds.
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT) or not msg.data:
                continue
            raw = msg.data.encode() if isinstance(msg.data, str) else msg.data
            channel, data = raw[0], raw[1:]
            if channel == STDIN and data:
                await session.write_stdin(data)
            elif channel == CLOSE and data[:1] == bytes([STDIN]):
                await session.close_stdin()

    reader = asyncio.create_task(pump_in())
    try:
        await pump_out()
        code = await session.wait()
        await ws.send_bytes(bytes([ERROR]) + _compact(exit_status(code)))
    except (ConnectionResetError, asyncio.CancelledError):
        await session.kill()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        await ws.close()
    return ws


async def attach_ws(request: web.Request, api: Api, namespace: str, name: str) -> web.StreamResponse:
    """``pods/<p>/attach`` over WebSocket: the container's output from the start of its current run, on stdout.

    Processes run without a terminal and read no stdin from attach (``kubectl run -it`` gets the output, and the
    input is dropped). The stream ends with a ``Status`` on channel 3 when the container exits.
    """
    pod = api.store.get("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    if api.kubelet is None:
        raise ApiStatusError(503, "no kubelet is running", reason="ServiceUnavailable")
    container = _pick_container(pod, request.query.get("container"))
    try:
        stream = api.kubelet.logs(namespace, name, container, follow=True)
    except ClusterError as exc:
        raise _kubelet_status(exc) from exc
    ws = web.WebSocketResponse(protocols=SUBPROTOCOLS, max_msg_size=0)
    if not ws.can_prepare(request).ok:
        raise bad_request("Upgrade request required: attach needs a WebSocket (v5.channel.k8s.io); SPDY is not served")
    await ws.prepare(request)

    async def drain_input() -> None:
        async for _msg in ws:
            pass

    reader = asyncio.create_task(drain_input())
    try:
        async for chunk in stream:
            await ws.send_bytes(bytes([STDOUT]) + chunk)
        await ws.send_bytes(bytes([ERROR]) + _compact({"metadata": {}, "status": "Success"}))
    except (ConnectionResetError, ClusterError, asyncio.CancelledError):
        pass
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
            await stream.aclose()  # type: ignore[attr-defined]
        await ws.close()
    return ws
