"""The sandbox's Prometheus, live, on the chat-rooms seed: it scrapes the real stand-in pods, the containers and
the datastores (and nothing off loopback); the runbook's PromQL curl step runs verbatim and returns real samples;
under a steady fault the runbook's alert fires and then clears after recovery, and the PromQL SLO windows agree
with the traffic records."""

from __future__ import annotations

import dataclasses
import json
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from drillbook.errors import SandboxError
from drillbook.journal import Decision
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local.sandbox import provision_local
from drillbook.platform.prometheus.client import PrometheusClient
from drillbook.platform.prometheus.config import require_loopback
from drillbook.runbook import parse_runbook
from drillbook.runbook.model import Step
from drillbook.slo.alerts import AlertOutcome, alert_rules, evaluate_alert
from drillbook.slo.promql import LATENCY_BUCKETS_S, PromqlWindows
from drillbook.slo.stats import RequestRecord, WindowStats

pytestmark = pytest.mark.live

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
SYSTEM = "chat-rooms"
APP = ("production", "chat-rooms-api")
ERROR_RATE_TOLERANCE = 0.05
"""PromQL and the records may differ by 5 points of error rate on one window: ``increase()`` extrapolates to the
window's edges from 1 s scrapes, and a request completing on an edge can fall on either side."""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[KubeSandbox]:
    with tempfile.TemporaryDirectory(prefix="drillbook-prometheus-live-") as tmp:
        box = provision_local(SCENARIOS / SYSTEM, Path(tmp))
        try:
            yield box
        finally:
            box.close()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _query(sandbox: KubeSandbox, expr: str) -> list[dict[str, Any]]:
    assert sandbox.prometheus_url is not None
    body = _get(f"{sandbox.prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _eventually(sandbox: KubeSandbox, expr: str, want: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    result: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        result = _query(sandbox, expr)
        if len(result) >= want:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{expr} gave {len(result)} series within {timeout_s:.0f} s, expected {want}: {result}")


@dataclass
class _Traffic:
    """Bounded user traffic: a few threads cycling through the scenario's endpoints, recording each request."""

    base: str
    endpoints: list[tuple[str, str, str, bytes | None]]
    records: list[RequestRecord] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, users: int = 3) -> _Traffic:
        for i in range(users):
            thread = threading.Thread(target=self._user, args=(i,), daemon=True)
            self.threads.append(thread)
            thread.start()
        return self

    def _user(self, offset: int) -> None:
        i = offset
        while not self.stop.is_set():
            name, method, path, body = self.endpoints[i % len(self.endpoints)]
            i += 1
            request = urllib.request.Request(self.base + path, data=body, method=method)
            if body is not None:
                request.add_header("Content-Type", "application/json")
            began = time.perf_counter()
            status, error = 0, None
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError as exc:
                error = str(exc)
            latency = (time.perf_counter() - began) * 1000
            ok = 200 <= status < 400
            self.records.append(RequestRecord(time.time(), name, method, status, ok, latency, error))
            time.sleep(0.02)

    def halt(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def window(self, t_end: float, window_s: float) -> WindowStats:
        inside = [r for r in self.records if t_end - window_s < r.ts <= t_end]
        return WindowStats.of(inside, t_end=t_end, window_s=window_s)


def _traffic(sandbox: KubeSandbox) -> _Traffic:
    endpoints = [
        (e.name, e.method, e.path, None if e.json is None else json.dumps(e.json).encode())
        for e in sandbox.scenario.traffic
        for _ in range(e.weight)
    ]
    return _Traffic(sandbox.app_url, endpoints)


def _bucket_of(ms: float) -> int:
    return next((i for i, bound in enumerate(LATENCY_BUCKETS_S) if ms / 1000 <= bound), len(LATENCY_BUCKETS_S))


def test_prometheus_scrapes_every_app_pod_the_containers_and_both_datastores(sandbox: KubeSandbox) -> None:
    pods = _eventually(sandbox, 'up{job="app"} == 1', want=2)
    names = sandbox.kubectl("get", "pods", "-n", APP[0], "-l", "app=chat-rooms-api", "-o", "name")
    assert {p["metric"]["pod"] for p in pods} == set(names.replace("pod/", "").split())
    # Each exporter answers within the 1 s scrape timeout only once it is warm: wait for its first good scrape.
    assert _eventually(sandbox, "pg_up == 1", want=1)[0]["metric"]["job"] == "postgres"
    assert _eventually(sandbox, "redis_up == 1", want=1)[0]["metric"]["job"] == "redis"
    memory = _eventually(sandbox, f'container_memory_working_set_bytes{{namespace="{APP[0]}"}}', want=4)
    containers = {m["metric"]["container"] for m in memory}
    assert {"chat-rooms-api", "postgres", "redis"} <= containers
    assert all(float(m["value"][1]) > 1_000_000 for m in memory), "every container holds at least 1 MB resident"
    restarts = _eventually(sandbox, f'kube_pod_container_status_restarts_total{{namespace="{APP[0]}"}}', want=4)
    assert {r["metric"]["container"] for r in restarts} >= {"chat-rooms-api", "postgres", "redis"}


def test_prometheus_loaded_config_and_discovered_targets_are_only_loopback(sandbox: KubeSandbox) -> None:
    assert sandbox.prometheus_url is not None
    loaded = yaml.safe_load(_get(f"{sandbox.prometheus_url}/api/v1/status/config")["data"]["yaml"])
    static = [t for job in loaded["scrape_configs"] for g in job.get("static_configs", []) for t in g["targets"]]
    assert not any(key in loaded for key in ("remote_write", "remote_read", "alerting"))
    # Service discovery fills in within a refresh or two of Prometheus's start: wait for it when this test is
    # the first to use the sandbox (as on a test worker of its own), instead of reading it once.
    deadline = time.monotonic() + 30.0
    while True:
        active = _get(f"{sandbox.prometheus_url}/api/v1/targets")["data"]["activeTargets"]
        discovered = [t["discoveredLabels"]["__address__"] for t in active]
        if len(discovered) >= 6 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(discovered) >= 6, f"app pods x2, kubelet, postgres, redis, prometheus; got {discovered}"
    for address in [*static, *discovered]:
        require_loopback(address)  # raises for anything off loopback
    flags = _get(f"{sandbox.prometheus_url}/api/v1/status/flags")["data"]
    assert flags["web.listen-address"].startswith("127.0.0.1:")


def _promql_step(system: str, marker: str) -> Step:
    runbook = parse_runbook(SCENARIOS / system / "runbook.md")
    steps = [s for i in runbook.incidents for s in i.steps if any(marker in c.text for c in s.commands)]
    assert steps, f"the {system} runbook has a PromQL curl step naming {marker}"
    return steps[0]


def test_chat_rooms_curl_step_runs_verbatim_on_the_sandbox_prometheus_and_fails_as_curl_does(
    sandbox: KubeSandbox,
) -> None:
    """The runbook's URL holds ``{…}`` and ``[5m]`` unquoted for curl's globbing: real curl refuses it (exit 3,
    "bad range in URL") before sending anything, here as in production — a finding the drill must show."""
    outcomes = sandbox.step_runner().run_step(_promql_step(SYSTEM, "prometheus:9090"))
    curl = next(o for o in outcomes if "prometheus:9090" in o.as_written)
    assert curl.as_written.startswith('curl -s "http://prometheus:9090/api/v1/query?query=rate(http_requests_total')
    assert curl.decision is Decision.RUNS, curl.reason
    assert curl.as_run.startswith(f'curl -s "{sandbox.prometheus_url}/api/v1/query?query=')
    assert curl.exit_code == 3, curl.output


def test_architect_apis_error_rate_curl_step_runs_verbatim_and_returns_real_samples() -> None:
    namespace, deployment = "architect-production", "deployment/architect-api"
    with tempfile.TemporaryDirectory(prefix="drillbook-prometheus-architect-") as tmp:
        box = provision_local(SCENARIOS / "architect-api", Path(tmp))
        try:
            box.kubectl("set", "env", deployment, "-n", namespace, "STANDIN_ERROR_RATE=0.2")
            box.kubectl("rollout", "status", deployment, "-n", namespace, "--timeout=90s", timeout_s=100)
            traffic = _traffic(box).start()
            try:
                _eventually(box, 'http_requests_total{status=~"5.."}', want=1, timeout_s=30)
                time.sleep(3)
                outcomes = box.step_runner().run_step(_promql_step("architect-api", "prometheus:9090"))
            finally:
                traffic.halt()
        finally:
            box.close()
    curl = next(o for o in outcomes if "prometheus:9090" in o.as_written)
    assert curl.decision is Decision.RUNS, curl.reason
    assert "--data-urlencode 'query=rate(http_requests_total{status=~\"5..\"}[5m])'" in curl.as_run
    assert "prometheus:9090" not in curl.as_run
    assert curl.exit_code == 0, curl.output
    # Without -s curl also prints its progress meter (stderr, captured with stdout): the answer is the JSON in it.
    body, _end = json.JSONDecoder().raw_decode(curl.output, curl.output.index('{"status"'))
    assert body["status"] == "success"
    samples = body["data"]["result"]
    assert samples, "one series per app pod, route and 5xx status"
    assert {s["metric"]["job"] for s in samples} == {"app"}
    assert any(float(s["value"][1]) > 0 for s in samples), "5xx responses are being counted right now"


def test_under_a_steady_fault_the_alert_fires_clears_and_both_slo_sources_agree(sandbox: KubeSandbox) -> None:
    runbook = parse_runbook(SCENARIOS / SYSTEM / "runbook.md")
    alert = next(a for i in runbook.incidents if i.id == "high-error-rate-alert" for a in i.alerts)
    prom = PrometheusClient(str(sandbox.prometheus_url))
    windows = PromqlWindows(prom)
    rules, _untranslatable = alert_rules([alert])
    sandbox.load_alert_rules(rules)  # a real alerting rule: Prometheus says when it fired
    namespace, deployment = APP
    traffic = _traffic(sandbox).start()
    try:
        time.sleep(8)
        fault_at = time.time()
        sandbox.kubectl("set", "env", f"deployment/{deployment}", "-n", namespace, "STANDIN_ERROR_RATE=0.5")
        sandbox.kubectl("rollout", "status", f"deployment/{deployment}", "-n", namespace, "--timeout=60s", timeout_s=70)
        time.sleep(20)  # the new pods are scraped (file_sd follows them) and every 5 s window is steady
        steady_end = time.time() - 2
        pairs = [(traffic.window(t, 5.0), windows.stats(t, 5.0)) for t in (steady_end - 8, steady_end - 4, steady_end)]
        sandbox.kubectl("set", "env", f"deployment/{deployment}", "-n", namespace, "STANDIN_ERROR_RATE-")
        sandbox.kubectl("rollout", "status", f"deployment/{deployment}", "-n", namespace, "--timeout=60s", timeout_s=70)
        recovered_at = time.time()
        time.sleep(25)  # longer than the 15 s rate window, so the ratio falls back under 5 %
    finally:
        traffic.halt()
    for records, promql in pairs:
        assert records.requests >= 20
        assert promql.requests >= 20
        assert 0.35 <= records.error_rate <= 0.65, records
        assert abs(records.error_rate - promql.error_rate) <= ERROR_RATE_TOLERANCE, (records, promql)
        assert records.p95_ms is not None
        assert promql.p95_ms is not None
        assert abs(_bucket_of(records.p95_ms) - _bucket_of(promql.p95_ms)) <= 1, (records, promql)
    evaluation = evaluate_alert(alert, prom, start=fault_at - 5, end=time.time(), rule=rules[0].name)
    assert evaluation.outcome is AlertOutcome.FIRED, evaluation.finding
    assert evaluation.rule == "Error_Rate"
    listed = _get(f"{sandbox.prometheus_url}/api/v1/rules?type=alert")["data"]["groups"][0]["rules"]
    assert [r["name"] for r in listed] == ["Error_Rate"]
    assert listed[0]["query"] == rules[0].query.condition
    assert evaluation.fired_at is not None
    assert evaluation.cleared_at is not None
    assert fault_at < evaluation.fired_at < recovered_at
    assert recovered_at - 30 < evaluation.cleared_at < time.time()
    assert evaluation.peak is not None
    assert evaluation.peak > 25


def test_a_rule_prometheus_refuses_is_a_sandbox_error_naming_the_rule_file(sandbox: KubeSandbox) -> None:
    runbook = parse_runbook(SCENARIOS / SYSTEM / "runbook.md")
    alert = next(a for i in runbook.incidents if i.id == "high-error-rate-alert" for a in i.alerts)
    (rule,), _ = alert_rules([alert])
    broken = dataclasses.replace(rule, query=dataclasses.replace(rule.query, value="sum(rate(http_requests_total[15s]"))
    with pytest.raises(SandboxError, match=r"refused the alerting rules in .*rules\.yml"):
        sandbox.load_alert_rules([broken])
    sandbox.load_alert_rules([rule])  # a good file after a bad one is taken again


def test_an_alert_on_a_metric_nobody_exports_is_no_data(sandbox: KubeSandbox) -> None:
    runbook = parse_runbook(SCENARIOS / SYSTEM / "runbook.md")
    alert = next(a for i in runbook.incidents if i.id == "high-error-rate-alert" for a in i.alerts)
    renamed = dataclasses.replace(alert, metric="rate(chat_messages_failed_total[1m])", unit="")
    now = time.time()
    evaluation = evaluate_alert(renamed, PrometheusClient(str(sandbox.prometheus_url)), start=now - 30, end=now)
    assert evaluation.outcome is AlertOutcome.NO_DATA
    assert evaluation.finding is not None
    assert "returned no data" in evaluation.finding
