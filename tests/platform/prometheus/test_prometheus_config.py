"""The generated Prometheus config reaches only the sandbox, and the runbook's Prometheus URLs bind to it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from drillbook.errors import SandboxError
from drillbook.execute.bindings import Bindings, Resolver, Target
from drillbook.platform.prometheus.bindings import with_prometheus
from drillbook.platform.prometheus.config import (
    ScrapeJob,
    TargetGroup,
    render_config,
    render_rules,
    require_loopback,
    scraped_addresses,
    write_file_sd,
)


@pytest.mark.parametrize("target", ["10.0.0.5:9100", "prometheus.example.com:443", "8.8.8.8:53", "[2001:db8::1]:80"])
def test_a_target_outside_loopback_is_refused(target: str) -> None:
    with pytest.raises(SandboxError, match="only sandbox"):
        require_loopback(target)
    with pytest.raises(SandboxError):
        render_config([ScrapeJob("x", static=(target,))])


def test_the_config_scrapes_every_second_and_lists_its_file_sd(tmp_path: Path) -> None:
    sd = tmp_path / "pods.json"
    write_file_sd(sd, [TargetGroup(("127.10.0.7:8080",), {"pod": "api-1"}), TargetGroup((), {"pod": "gone"})])
    config = tmp_path / "prometheus.yml"
    config.write_text(render_config([ScrapeJob("app", file_sd=sd), ScrapeJob("redis", static=("127.0.0.1:9121",))]))
    assert "scrape_interval: 1000ms" in config.read_text()
    assert scraped_addresses(config) == ["127.10.0.7:8080", "127.0.0.1:9121"]


def test_the_config_evaluates_the_drills_rule_file_and_notifies_no_one(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules([{"alert": "HighErrorRate", "expr": "up == 0", "for": "2000ms"}]))
    config = yaml.safe_load(render_config([ScrapeJob("app", static=("127.0.0.1:1",))], rule_files=[rules]))
    assert config["rule_files"] == [str(rules)]
    assert config["global"]["evaluation_interval"] == "1000ms"
    assert "alerting" not in config, "no Alertmanager: a firing rule pages no one, the drill reads ALERTS"
    group = yaml.safe_load(rules.read_text())["groups"][0]
    assert group["interval"] == "1000ms"
    assert group["rules"] == [{"alert": "HighErrorRate", "expr": "up == 0", "for": "2000ms"}]
    assert "rule_files" not in yaml.safe_load(render_config([ScrapeJob("app", static=("127.0.0.1:1",))]))


class _View:
    def service_address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        raise AssertionError("no service is resolved here")

    def pod_name(self, namespace: str, selector: str) -> str:
        raise AssertionError("no pod is resolved here")

    def env(self) -> dict[str, str]:
        return {}

    def tool_dirs(self) -> list[Path]:
        return []


@pytest.mark.parametrize(
    "written",
    [
        "curl -s http://localhost:9090/api/v1/query --data-urlencode 'query=up'",
        'curl "http://prometheus.example.com/api/v1/query?query=rate(http_errors_total[5m])"',
        "curl https://prometheus.example.com/api/v1/query?query=up",
        "curl http://prometheus:9090/api/v1/query \\",
    ],
)
def test_every_prometheus_url_the_seeds_use_binds_to_the_sandbox_prometheus(written: str) -> None:
    scenario = Bindings(unbound={"http://localhost:9090": "Prometheus is not part of the sandbox"})
    bindings = with_prometheus(scenario, "http://127.0.0.1:41234")
    rewrite = Resolver(bindings, _View()).rewrite(written, ())
    assert "http://127.0.0.1:41234/api/v1/query" in rewrite.as_run
    assert rewrite.unresolved == ()


def test_a_scenario_binding_of_its_own_wins_and_no_prometheus_leaves_bindings_as_they_are() -> None:
    own = Bindings(urls={"http://localhost:9090": Target(line=3, value="http://127.0.0.1:1")})
    assert with_prometheus(own, "http://127.0.0.1:2").urls["http://localhost:9090"].value == "http://127.0.0.1:1"
    assert with_prometheus(own, None) is own
