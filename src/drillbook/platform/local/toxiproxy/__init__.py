"""A Toxiproxy-compatible fault proxy: the same HTTP API and toxics, so the real one can replace it."""

from __future__ import annotations

from drillbook.platform.local.toxiproxy.errors import FaultProxyError
from drillbook.platform.local.toxiproxy.process import ToxiproxyProcess
from drillbook.platform.local.toxiproxy.server import VERSION, FaultProxyServer

__all__ = ["VERSION", "FaultProxyError", "FaultProxyServer", "ToxiproxyProcess"]
