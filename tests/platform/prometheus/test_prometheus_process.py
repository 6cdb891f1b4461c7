"""The sandbox's Prometheus starts and stops cleanly; when the process that started it and the exporters is
SIGKILLed (a cancelled CI job, a crashed game day), they end too: counted by PID, none is left running. Its start
time against the 1.5 s budget is printed by bench/bench_prometheus.py and bench/bench_sandbox.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.live

STARTER = """
import sys, time
from pathlib import Path
from drillbook.platform.prometheus.config import ScrapeJob, render_config
from drillbook.platform.prometheus.process import postgres_exporter, prometheus_process, redis_exporter
base = Path(sys.argv[1])
prom = prometheus_process(base / "prometheus.yml", base / "tsdb", base / "prometheus.log")
(base / "prometheus.yml").write_text(render_config([ScrapeJob("prometheus", static=(f"127.0.0.1:{prom.port}",))]))
servers = [
    prom.start(),
    postgres_exporter("postgresql://nobody@127.0.0.1:1/none?sslmode=disable", base / "pg.log").start(),
    redis_exporter("127.0.0.1:1", base / "redis.log").start(),
]
print(*(server.pid for server in servers), flush=True)
time.sleep(600)
"""


def test_prometheus_and_the_exporters_end_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert starter.stdout is not None
        pids = [int(pid) for pid in starter.stdout.readline().split()]
        assert len(pids) == 3, "the starter did not bring up Prometheus and both exporters"
        servers = [psutil.Process(pid) for pid in pids]
        assert [s.name() for s in servers] == [
            "prometheus",
            "prometheus-postgres-exporter",
            "prometheus-redis-exporter",
        ]
        assert all(os.getpgid(pid) != starter.pid for pid in pids), "each runs in its own session"
        os.killpg(starter.pid, signal.SIGKILL)
        starter.wait(timeout=10)
        _gone, alive = psutil.wait_procs(servers, timeout=20)
        assert not alive, f"still running after their starter died: {[(p.pid, p.name()) for p in alive]}"
        assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    finally:
        if starter.poll() is None:
            os.killpg(starter.pid, signal.SIGKILL)
            starter.wait()


def test_prometheus_answers_ready_and_releases_its_tsdb_when_stopped(tmp_path: Path) -> None:
    """Its speed (the 1.5 s budget) is measured by bench/bench_prometheus.py and bench/bench_sandbox.py, not here."""
    from drillbook.platform.prometheus.config import ScrapeJob, render_config
    from drillbook.platform.prometheus.process import prometheus_process

    server = prometheus_process(tmp_path / "prometheus.yml", tmp_path / "tsdb", tmp_path / "prometheus.log")
    (tmp_path / "prometheus.yml").write_text(render_config([ScrapeJob("self", static=(f"127.0.0.1:{server.port}",))]))
    with server:
        pid = server.pid
        assert pid is not None, "start() returns once /-/ready answered 200"
        assert (tmp_path / "tsdb").is_dir(), "it opened its TSDB in the per-run directory"
    assert server.pid is None
    assert not psutil.pid_exists(pid), "stop() reaped it"
    assert not (tmp_path / "tsdb" / "lock").exists(), "Prometheus stopped cleanly and released its TSDB"
