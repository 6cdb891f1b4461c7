"""A metrics text kept fresh on a thread, and a loopback ``/metrics`` server that answers with it at once.

Rendering can be slow (a full ``/proc`` walk on a busy machine, an API listing) and Prometheus's scrape timeout is
1 s, so the text is rendered by a sampler every ``period_s`` and a scrape answers with the latest rendering.
:class:`Sampler` is that half alone (localkube serves it on its node proxy); :class:`MetricsExporter` adds a
``http://127.0.0.1:<port>/metrics`` server. Both are threads of the process that starts them, so they end with it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONTENT_TYPE = "text/plain; version=0.0.4"
"""The Prometheus text exposition format."""


class Sampler:
    """Keeps :attr:`latest` = ``render()`` of at most ``period_s`` ago (the last good one when a rendering fails)."""

    def __init__(self, render: Callable[[], str], *, name: str, period_s: float = 1.0) -> None:
        self.render = render
        self.period_s = period_s
        self.latest = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"{name}-sampler", daemon=True)

    def start(self) -> Sampler:
        """Take the first reading, then sample in the background."""
        self.latest = self.render().encode()
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            with contextlib.suppress(Exception):  # one failed rendering keeps the last reading; the next one retries
                self.latest = self.render().encode()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


class MetricsExporter:
    """Serves a :class:`Sampler`'s latest text on ``http://127.0.0.1:<port>/metrics``."""

    def __init__(self, render: Callable[[], str], *, name: str, period_s: float = 1.0) -> None:
        self.name = name
        self.sampler = Sampler(render, name=name, period_s=period_s)
        sampler = self.sampler

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404, "only /metrics is served here")
                    return
                body = sampler.latest
                with contextlib.suppress(OSError):  # Prometheus gave up on a slow scrape: nothing to answer
                    self.send_response(200)
                    self.send_header("Content-Type", CONTENT_TYPE)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{name}-exporter", daemon=True)

    @property
    def address(self) -> str:
        """``127.0.0.1:port``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> MetricsExporter:
        """Take the first reading, then sample and serve in the background."""
        self.sampler.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling and serving, and close the socket."""
        self.sampler.stop()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
