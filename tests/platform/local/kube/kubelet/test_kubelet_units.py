"""Pure parts of the kubelet: image map, env building, back-off, quantities, status helpers."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
from kubelet_fakes import FakeLookup, make_pod

from drillbook.errors import ScenarioError
from drillbook.platform.local.kube.kubelet import ImageMap, ImageSpec
from drillbook.platform.local.kube.kubelet.backoff import Backoff
from drillbook.platform.local.kube.kubelet.env import EnvContext, build_env, expand, service_env
from drillbook.platform.local.kube.kubelet.errors import ContainerConfigError
from drillbook.platform.local.kube.kubelet.metrics import parse_quantity
from drillbook.platform.local.kube.kubelet.pod import go_duration
from drillbook.platform.local.kube.kubelet.status import ContainerRecord, pod_phase, qos_class


def test_image_map_loads_yaml_and_later_files_override(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text(
        "images:\n  redis:7: {entrypoint: [redis-server], cmd: [--port, '6379']}\n  app:1: {entrypoint: [a]}\n"
    )
    second = tmp_path / "b.yaml"
    second.write_text("images:\n  app:1: {entrypoint: [python, -m, app], env: {MODE: fast}}\n")
    images = ImageMap.load(first, second)
    assert images.resolve("redis:7") == ImageSpec(entrypoint=("redis-server",), cmd=("--port", "6379"))
    assert images.resolve("docker.io/library/redis:7") is not None
    app = images.resolve("app:1")
    assert app is not None
    assert dict(app.env) == {"MODE": "fast"}
    assert app.argv(None, None) == [sys.executable, "-m", "app"]
    assert images.resolve("redis:typo") is None


def test_image_map_rejects_unknown_keys_naming_file_and_image(tmp_path: Path) -> None:
    path = tmp_path / "images.yaml"
    path.write_text("images:\n  redis:7: {entrypiont: [redis-server]}\n")
    with pytest.raises(ScenarioError, match=r"images.yaml.*'redis:7'.*entrypiont"):
        ImageMap.load(path)


def test_image_without_tag_means_latest_and_merged_overrides() -> None:
    base = ImageMap({"nginx": ImageSpec(entrypoint=("a",))})
    assert base.resolve("nginx:latest") is not None
    merged = base.merged(ImageMap({"nginx:latest": ImageSpec(entrypoint=("b",))}))
    assert merged.resolve("nginx") == ImageSpec(entrypoint=("b",))


def test_pod_command_replaces_entrypoint_and_args_replace_cmd() -> None:
    image = ImageSpec(entrypoint=("server",), cmd=("--default",))
    assert image.argv(None, ["--x"]) == ["server", "--x"]
    assert image.argv(["other"], None) == ["other"]
    assert image.argv(["other"], ["--y"]) == ["other", "--y"]


def test_expand_follows_kubernetes_rules() -> None:
    known = {"A": "1", "B": "two"}.get
    assert expand("$(A)-$(B)", known) == "1-two"
    assert expand("$$(A)", known) == "$(A)"
    assert expand("$(MISSING)", known) == "$(MISSING)"
    assert expand("$$", known) == "$"
    assert expand("cost $5 $(A", known) == "cost $5 $(A"


def _service(name: str, ip: str, ports: list[dict[str, object]]) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"clusterIP": ip, "ports": ports}}


def test_service_env_matches_the_docker_links_variables() -> None:
    env = service_env([_service("redis-primary", "127.20.0.5", [{"name": "redis", "port": 6379, "protocol": "TCP"}])])
    assert env["REDIS_PRIMARY_SERVICE_HOST"] == "127.20.0.5"
    assert env["REDIS_PRIMARY_SERVICE_PORT"] == "6379"
    assert env["REDIS_PRIMARY_SERVICE_PORT_REDIS"] == "6379"
    assert env["REDIS_PRIMARY_PORT"] == "tcp://127.20.0.5:6379"
    assert env["REDIS_PRIMARY_PORT_6379_TCP"] == "tcp://127.20.0.5:6379"
    assert env["REDIS_PRIMARY_PORT_6379_TCP_ADDR"] == "127.20.0.5"
    assert service_env([_service("headless", "None", [{"port": 80}])]) == {}


def test_build_env_orders_sources_and_expands_earlier_variables() -> None:
    lookup = FakeLookup()
    lookup.add("services", "default", _service("db", "127.20.0.9", [{"port": 5432}]))
    lookup.add("services", "default", _service("kubernetes", "127.20.0.1", [{"name": "https", "port": 443}]))
    lookup.add("secrets", "default", {"metadata": {"name": "s"}, "data": {"pw": base64.b64encode(b"hunter2").decode()}})
    lookup.add("configmaps", "default", {"metadata": {"name": "cm"}, "data": {"MODE": "prod", "bad key": "x"}})
    pod = make_pod("web-1", [])
    container = {
        "name": "app",
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CFG_"}],
        "env": [
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "pw"}}},
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "URL", "value": "postgres://u:$(PW)@$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)/$(LATER)"},
            {"name": "LATER", "value": "x"},
        ],
    }
    ctx = EnvContext(pod=pod, pod_ip="127.10.0.7", lookup=lookup)
    env = build_env(ctx, container, ImageSpec(entrypoint=("x",), env={"MODE": "image", "PW": "image"}))
    assert env["PW"] == "hunter2"
    assert env["NAME"] == "web-1"
    assert env["HOSTNAME"] == "web-1"
    assert env["POD_IP"] == "127.10.0.7"
    assert env["CFG_MODE"] == "prod"
    assert "CFG_bad key" not in env
    assert env["MODE"] == "image"
    assert env["URL"] == "postgres://u:hunter2@127.20.0.9:5432/$(LATER)"
    assert env["KUBERNETES_SERVICE_HOST"] == "127.20.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "443"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found'),
        ({"secretKeyRef": {"name": "s", "key": "missing"}}, "couldn't find key missing in Secret default/s"),
        ({"configMapKeyRef": {"name": "cm", "key": "k"}}, 'configmap "cm" not found'),
    ],
)
def test_missing_secret_or_key_is_a_container_config_error_with_upstream_wording(
    ref: dict[str, object], message: str
) -> None:
    lookup = FakeLookup()
    lookup.add("secrets", "default", {"metadata": {"name": "s"}, "data": {}})
    container = {"name": "app", "env": [{"name": "X", "valueFrom": ref}]}
    ctx = EnvContext(pod=make_pod("p", []), pod_ip="127.10.0.2", lookup=lookup)
    with pytest.raises(ContainerConfigError) as info:
        build_env(ctx, container, ImageSpec(entrypoint=("x",)))
    assert str(info.value) == message


def test_optional_missing_secret_key_is_skipped() -> None:
    container = {
        "name": "a",
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "n", "key": "k", "optional": True}}}],
    }
    ctx = EnvContext(pod=make_pod("p", []), pod_ip="127.10.0.2", lookup=FakeLookup())
    assert "X" not in build_env(ctx, container, ImageSpec(entrypoint=("x",)))


def test_backoff_restarts_once_at_once_then_doubles_to_the_cap_and_resets_after_a_long_run() -> None:
    backoff = Backoff(time_factor=0.1)
    delays = [backoff.failed(0.0) for _ in range(8)]
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]
    assert backoff.real(10) == pytest.approx(1.0)
    assert backoff.failed(ran_for_s=60.0) == 0  # 600 s nominal * 0.1


def test_go_duration_formats_like_kubernetes_messages() -> None:
    assert [go_duration(s) for s in (10, 40, 80, 300)] == ["10s", "40s", "1m20s", "5m0s"]


@pytest.mark.parametrize(("text", "value"), [("64Mi", 64 * 2**20), ("1Gi", 2**30), ("500M", 500e6), ("250m", 0.25)])
def test_quantities_parse_binary_decimal_and_milli_suffixes(text: str, value: float) -> None:
    assert parse_quantity(text) == value


def test_bad_quantity_says_what_was_expected() -> None:
    with pytest.raises(ValueError, match=r"expected a quantity like 64Mi.*'lots'"):
        parse_quantity("lots")


def test_phase_follows_upstream_rules() -> None:
    crashed = ContainerRecord(name="a", image="i")
    crashed.waiting("CrashLoopBackOff")
    crashed.last_state = {"terminated": {"exitCode": 1}}
    assert pod_phase([crashed], "Always") == "Running"
    assert pod_phase([ContainerRecord(name="a", image="i")], "Always") == "Pending"
    done = ContainerRecord(name="a", image="i")
    done.terminated(0, "Completed", 0.0)
    assert pod_phase([done], "Never") == "Succeeded"
    done.terminated(2, "Error", 0.0)
    assert pod_phase([done], "Never") == "Failed"


def test_qos_class_from_requests_and_limits() -> None:
    limits = {"cpu": "1", "memory": "64Mi"}
    assert qos_class(make_pod("p", [{"name": "a"}])) == "BestEffort"
    assert qos_class(make_pod("p", [{"name": "a", "resources": {"limits": limits}}])) == "Guaranteed"
    assert qos_class(make_pod("p", [{"name": "a", "resources": {"requests": {"cpu": "1"}}}])) == "Burstable"


def test_pod_ips_are_never_shared_between_kubelets_and_are_unlocked_on_release(tmp_path: Path) -> None:
    import fcntl
    import os

    from drillbook.platform.local.kube.ips import PodIPPool

    first, second = PodIPPool(tmp_path), PodIPPool(tmp_path)
    ip_a = first.allocate()
    ip_b = second.allocate()
    assert ip_a != ip_b
    assert ip_a.startswith("127.10.")
    fd = os.open(tmp_path / ip_a, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        first.release(ip_a)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again for any localkube
    finally:
        os.close(fd)
        second.release(ip_b)


def test_a_scaled_probe_keeps_its_real_timeout_and_first_kills_after_its_real_window() -> None:
    from drillbook.platform.local.kube.kubelet.probes import KILL_ALLOWANCE_S, ProbeTiming

    spec = {"initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3}
    liveness = ProbeTiming.from_spec(spec, 0.2, kills=True)
    readiness = ProbeTiming.from_spec(spec, 0.2)
    assert readiness.initial_delay_s == pytest.approx(1.0)
    assert readiness.timeout_s == pytest.approx(2.0), "a timeout bounds a real process's answer: never scaled"
    assert liveness.period_s == pytest.approx(2.0)
    assert liveness.timeout_s == pytest.approx(2.0), "a probe that kills is not given less time than upstream gives"
    assert liveness.initial_delay_s == pytest.approx(1.0), "it probes on the scaled schedule"
    assert liveness.first_kill_s == pytest.approx(KILL_ALLOWANCE_S)  # 35 s nominal, capped
    assert readiness.first_kill_s == 0.0
    short = ProbeTiming.from_spec({"periodSeconds": 1, "failureThreshold": 1}, 0.05, kills=True)
    assert short.first_kill_s == pytest.approx(1.0)  # the nominal window is shorter than the cap: kept
    mid = ProbeTiming.from_spec({"initialDelaySeconds": 10, "periodSeconds": 5, "failureThreshold": 2}, 0.2, kills=True)
    assert mid.first_kill_s == pytest.approx(20.0)  # the whole nominal window, unscaled


@pytest.mark.live  # it listens on a loopback socket
def test_an_address_some_process_listens_on_is_read_from_the_kernels_table_and_skipped(tmp_path: Path) -> None:
    import socket

    from drillbook.platform.local.kube import ips

    pool = ips.PodIPPool(tmp_path)
    taken = str(pool.network[pool._next])  # the address the pool would hand out next
    with socket.socket() as listener:
        listener.bind((taken, 0))
        listener.listen()
        assert taken in ips._listening_ips()
        assert ips._listening_ips() >= {ip for ip in ips._listening_ips_by_psutil() if ip.startswith("127.10.")}
        got = pool.allocate()
    assert got != taken
    pool.release(got)
