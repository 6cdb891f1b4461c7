"""FaultProxyServer in-process, the ToxiproxyProcess wrapper and the CLI entry."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request

import psutil
import pytest

from drillbook.platform.local.toxiproxy import FaultProxyError, FaultProxyServer, ToxiproxyProcess
from drillbook.platform.local.toxiproxy.toxics import registry

pytestmark = pytest.mark.live


def test_every_toxiproxy_toxic_type_is_registered() -> None:
    assert set(registry()) == {
        "latency",
        "bandwidth",
        "slow_close",
        "timeout",
        "reset_peer",
        "slicer",
        "limit_data",
        "noop",
    }


def test_server_in_process_proxies_an_echo_service() -> None:
    async def scenario() -> bytes:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.read(100))
            await writer.drain()
            writer.close()

        upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
        server = FaultProxyServer(port=0)
        await server.start()
        try:
            created = await server.populate(
                [
                    {
                        "name": "echo",
                        "listen": "127.0.0.1:0",
                        "upstream": f"127.0.0.1:{upstream.sockets[0].getsockname()[1]}",
                    }
                ]
            )
            port = int(created[0].listen.rpartition(":")[2])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello")
            await writer.drain()
            reply = await asyncio.wait_for(reader.read(100), 5)
            writer.close()
            return reply
        finally:
            await server.stop()
            upstream.close()

    assert asyncio.run(scenario()) == b"hello"


def test_server_refuses_a_non_loopback_host() -> None:
    with pytest.raises(FaultProxyError, match="loopback"):
        FaultProxyServer(host="0.0.0.0")


@pytest.mark.slow
def test_process_answers_version_and_is_reaped_on_exit() -> None:
    with ToxiproxyProcess() as process:
        pid = process.pid
        assert pid is not None
        with urllib.request.urlopen(f"{process.url}/version", timeout=5) as response:
            assert json.loads(response.read())["version"]
    assert process.pid is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_cli_rejects_a_non_loopback_host_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "drillbook", "toxiproxy", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr
    assert "Traceback" not in result.stderr
