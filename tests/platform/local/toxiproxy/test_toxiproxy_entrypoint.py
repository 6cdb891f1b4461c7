"""The Toxiproxy image stand-in and the address policy behind it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from drillbook.platform.local.datastores import RedisInstance, free_port
from drillbook.platform.local.toxiproxy.addresses import HostPolicy, service_hosts
from drillbook.platform.local.toxiproxy.entrypoint import parse_flags
from drillbook.platform.local.toxiproxy.errors import ApiError

pytestmark = pytest.mark.live

ENTRYPOINT = [sys.executable, "-m", "drillbook.platform.local.toxiproxy.entrypoint"]


def test_go_style_flags_parse_like_the_binary() -> None:
    assert parse_flags(["-host=0.0.0.0", "--port", "9000", "-config", "/c.json"]) == {
        "host": "0.0.0.0",
        "port": "9000",
        "config": "/c.json",
    }
    with pytest.raises(ValueError, match="flag provided but not defined"):
        parse_flags(["-verbose"])


def test_policy_maps_wildcards_and_services_onto_loopback() -> None:
    policy = HostPolicy(wildcard_host="127.0.0.5", services=service_hosts({"REDIS_CACHE_SERVICE_HOST": "127.0.0.9"}))
    assert policy.listen("0.0.0.0:6379") == ("127.0.0.5", 6379)
    assert policy.listen("[::]:6379") == ("127.0.0.5", 6379)
    assert policy.listen(":6379") == ("127.0.0.5", 6379)
    assert policy.upstream("redis-cache.default.svc.cluster.local:6379") == ("127.0.0.9", 6379)
    with pytest.raises(ApiError, match="loopback"):
        policy.upstream("db.example.com:5432")
    with pytest.raises(ApiError, match="host:port"):
        policy.listen("no-port")


@pytest.fixture
def entrypoint_proc() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
def test_image_entrypoint_serves_config_proxies_on_the_pod_ip(
    tmp_path: Path, entrypoint_proc: list[subprocess.Popen[str]]
) -> None:
    pod_ip = "127.0.0.11"
    api_port, proxy_port = free_port(pod_ip), free_port(pod_ip)
    with RedisInstance(base_dir=tmp_path / "redis") as upstream:
        config = tmp_path / "toxiproxy.json"
        proxies = [{"name": "redis", "listen": f"0.0.0.0:{proxy_port}", "upstream": f"redis:{upstream.port}"}]
        config.write_text(json.dumps(proxies))
        proc = subprocess.Popen(
            [*ENTRYPOINT, "-host=0.0.0.0", f"-port={api_port}", f"-config={config}"],
            env={"PATH": os.environ["PATH"], "POD_IP": pod_ip, "REDIS_SERVICE_HOST": "127.0.0.1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        entrypoint_proc.append(proc)
        assert proc.stdout is not None
        assert "API listening" in proc.stdout.readline()
        listed = requests.get(f"http://{pod_ip}:{api_port}/proxies", timeout=5).json()
        assert listed["redis"]["listen"] == f"{pod_ip}:{proxy_port}"
        client = redis.Redis(host=pod_ip, port=proxy_port)
        try:
            assert client.ping() is True
        finally:
            client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_image_entrypoint_rejects_unknown_flags() -> None:
    result = subprocess.run(
        [*ENTRYPOINT, "-bogus"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "flag provided but not defined" in result.stderr
