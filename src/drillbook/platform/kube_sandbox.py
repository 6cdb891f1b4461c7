"""A sandbox on any Kubernetes API: deploy a scenario, wait for it, and hand the drill what it needs.

Everything here talks to the cluster through the real kubectl (``apply``) and the real ``kubernetes``
client, so it is shared by localkube and real clusters (kind, k3s, an allowed existing cluster). What
differs per provider is only how the cluster comes up and how the host reaches a Service
(:class:`ServiceAccess`).
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml
from kubernetes import client, config

from drillbook.drill.clock import Clock, SystemClock
from drillbook.drill.settle import SandboxSnapshot
from drillbook.errors import ClusterError, SandboxError
from drillbook.faults.target import FaultTarget, TrafficControl, Workload
from drillbook.gherkin.run import PLATFORM_LABELS, tool_versions
from drillbook.journal import Platform, ToolVersions
from drillbook.platform.bringup import BringUp
from drillbook.platform.fault_proxy import (
    Dependency,
    FaultProxyApi,
    dependencies,
    fronted_manifests,
    upstream_manifests,
)
from drillbook.platform.pod_health import StuckContainer, by_cause, describe_group, selects, stuck_containers
from drillbook.scenario import Scenario
from drillbook.slo.alerts import AlertRule
from drillbook.slo.promql import PromQuery
from drillbook.slo.stats import RequestRecord, WindowStats


class ServiceAccess(Protocol):
    """How processes on the host reach a Service of the cluster."""

    def address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        """A loopback host and port that reach the Service (its first port when none is given)."""

    def close(self) -> None:
        """Release whatever the access holds (port-forwards)."""


class ClusterIPAccess:
    """localkube's Services listen on their loopback ClusterIP: the host reaches them directly."""

    def __init__(self, api_client: Any) -> None:
        self.core = client.CoreV1Api(api_client)

    def address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        """The Service's ClusterIP and port."""
        service = _read_service(self.core, namespace, name)
        ports = [p.port for p in service.spec.ports or []]
        chosen = port if port is not None else (ports[0] if ports else None)
        if chosen is None or (ports and chosen not in ports):
            raise ClusterError(f"service {namespace}/{name} has no port {port}; it has {ports}")
        return str(service.spec.cluster_ip), int(chosen)

    def close(self) -> None:
        """Nothing to release."""


def _read_service(core: Any, namespace: str, name: str) -> Any:
    try:
        return core.read_namespaced_service(name, namespace)
    except client.ApiException as exc:
        raise ClusterError(f"service {namespace}/{name} not found in the sandbox ({exc.status})") from exc


class KubeSandbox:
    """A scenario deployed on a Kubernetes API; the drill's :class:`~drillbook.drill.ports.Sandbox`."""

    clock: Clock = SystemClock()
    """What :meth:`wait_available` polls by (a test hands in a fake one, so it never sleeps)."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        platform: Platform,
        kube_env: Mapping[str, str],
        workdir: Path,
        access_factory: Callable[[Any], ServiceAccess],
        on_close: Callable[[], None] | None = None,
        ready_timeout_s: float = 120.0,
        fault_proxy_url: str | None = None,
        bringup: BringUp | None = None,
    ) -> None:
        """``fault_proxy_url``: a Toxiproxy API the cluster's Services can route to (a host process on localkube);
        :meth:`deploy` then puts a proxy in front of every datastore. ``bringup``: the journaled actions that
        brought it up (the report shows them)."""
        self.scenario = scenario
        self._platform = platform
        self.kube_env = dict(kube_env)
        self.workdir = workdir
        self._on_close = on_close
        self.ready_timeout_s = ready_timeout_s
        self.api_client = config.new_client_from_config(config_file=self.kube_env["KUBECONFIG"])  # type: ignore[no-untyped-call]
        self.access = access_factory(self.api_client)
        self._traffic: list[Any] = []
        self._released = False
        self.bringup = bringup
        self.fault_proxy_url = fault_proxy_url
        self.proxied: dict[str, Dependency] = {}
        """Dependency name → the datastore behind the proxy of that name (filled by :meth:`deploy`)."""
        # -- metrics (Prometheus, platform/prometheus): set by the last bring-up action; the step runner binds
        # the runbook's Prometheus URLs to it and `slo_source: prometheus` reads SLOs from it.
        self.prometheus_url: str | None = None
        self.prometheus_rules: Callable[[Sequence[Mapping[str, object]]], None] | None = None
        """Loads alerting rules into that Prometheus (``PrometheusAction.load_rules``)."""

    # -- the Sandbox protocol ------------------------------------------------------------------------------

    @property
    def platform(self) -> Platform:
        """Which engine this is."""
        return self._platform

    @property
    def platform_label(self) -> str:
        """The engine in words, for progress and reports."""
        return PLATFORM_LABELS[self._platform]

    @property
    def app_url(self) -> str:
        """Base URL of the application's Service, reachable from the host."""
        app = self.scenario.app
        host, port = self.access.address(app.namespace, app.service, app.port)
        return f"http://{host}:{port}"

    def versions(self) -> ToolVersions:
        """Tool versions for the evidence block."""
        return tool_versions()

    def fault_target(self, traffic: TrafficControl | None) -> FaultTarget:
        """What faults may act on in this sandbox: the datastores' direct addresses (a fault's helpers act on the
        datastore, not through the network they may be breaking) and the fault proxy in front of them."""
        app = self.scenario.app
        target = FaultTarget(
            workdir=self.workdir,
            kube_env=self.kube_env,
            app=Workload(app.namespace, app.deployment, app.container, app.selector),
            traffic=traffic,
        )
        pg = self.scenario.postgres
        if pg is not None:
            host, port = self.direct_address("postgres", pg.namespace, pg.service, pg.port)
            target.postgres_dsn = f"postgresql://{pg.user}:{pg.password}@{host}:{port}/{pg.database}"
            target.postgres_admin_dsn = f"postgresql://{pg.admin_user}:{pg.admin_password}@{host}:{port}/{pg.database}"
            target.postgres = Workload(pg.namespace, pg.deployment, None, f"app={pg.deployment}")
        redis = self.scenario.redis
        if redis is not None:
            host, port = self.direct_address("redis", redis.namespace, redis.service, redis.port)
            target.redis_url = f"redis://{host}:{port}/0"
            target.redis = Workload(redis.namespace, redis.deployment, None, f"app={redis.deployment}")
        if self.fault_proxy_url is not None and self.proxied:
            target.toxiproxy_url = self.fault_proxy_url
            target.proxies = {name: name for name in self.proxied}
        return target

    def direct_address(self, dependency: str, namespace: str, service: str, port: int) -> tuple[str, int]:
        """A datastore's address that bypasses the fault proxy (its own Service when it has no proxy)."""
        fronted = self.proxied.get(dependency)
        if fronted is not None:
            return self.access.address(fronted.namespace, fronted.direct_service, fronted.port)
        return self.access.address(namespace, service, port)

    def step_runner(self) -> Any:
        """The executor that runs runbook commands against this sandbox."""
        from drillbook.platform.executor_view import step_runner_for

        return step_runner_for(self)

    def start_traffic(self, users: int, on_record: Callable[[RequestRecord], None]) -> Any:
        """Start bounded user traffic against the application."""
        from drillbook.platform.traffic import start_traffic

        traffic = start_traffic(self, users, on_record)
        self._traffic.append(traffic)
        return traffic

    def slo_window_source(self) -> Callable[[float, float], WindowStats] | None:
        """PromQL windows when the scenario says ``slo_source: prometheus`` and a Prometheus runs (else None)."""
        if self.scenario.slo_source != "prometheus" or self.prometheus_url is None:
            return None
        from drillbook.platform.prometheus.client import PrometheusClient
        from drillbook.slo.promql import PromqlWindows

        return PromqlWindows(PrometheusClient(self.prometheus_url)).stats

    def prom_query(self) -> PromQuery | None:
        """The sandbox's Prometheus, for the incident's alert rules (``None`` when none runs)."""
        if self.prometheus_url is None:
            return None
        from drillbook.platform.prometheus.client import PrometheusClient

        return PrometheusClient(self.prometheus_url)

    def bringup_summary(self) -> str:
        """The bring-up actions with their seconds; once closed, the undos as they ran."""
        if self.bringup is None:
            return "not journaled"
        return self.bringup.teardown_summary() if self.bringup.undo_seconds else self.bringup.summary()

    def load_alert_rules(self, rules: Sequence[AlertRule]) -> None:
        """Load the incident's alerts into the sandbox's Prometheus as alerting rules (evaluated every second).

        Raises:
            SandboxError: No Prometheus runs here, or it refused the rules.
        """
        if self.prometheus_rules is None:
            raise SandboxError("no Prometheus runs in this sandbox: the runbook's alerts cannot be loaded as rules")
        self.prometheus_rules([rule.entry() for rule in rules])

    def close(self) -> None:
        """Stop traffic, release access, tear the cluster down."""
        self.release()
        if self._on_close is not None:
            self._on_close()

    def release(self) -> None:
        """Stop traffic and release access and the API client (the cluster stays); safe to call twice."""
        for traffic in self._traffic:
            with contextlib.suppress(Exception):
                traffic.stop()
        self._traffic.clear()
        self.access.close()
        if not self._released:
            self._released = True
            self.api_client.close()

    # -- bring-up ------------------------------------------------------------------------------------------

    def deploy(self) -> None:
        """:meth:`apply`, then :meth:`wait_available`."""
        self.apply()
        self.wait_available()

    def apply(self) -> None:
        """``kubectl apply`` the scenario's manifests (behind the fault proxy when there is one)."""
        deps = dependencies(self.scenario)
        if self.fault_proxy_url is None or not deps:
            self.kubectl("apply", "-f", str(self.scenario.manifests))
        else:
            self._deploy_behind_fault_proxy(self.fault_proxy_url, deps)

    def _deploy_behind_fault_proxy(self, url: str, deps: list[Dependency]) -> None:
        """The ``-direct`` Services first, then a proxy in front of each, then the manifests routed through them,
        all before any app pod starts (a connection opened around the proxy would survive a partition)."""
        path = self.scenario.manifests
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
        except (OSError, yaml.YAMLError) as exc:
            raise SandboxError(f"{path}: cannot read the manifests: {exc}") from exc
        self._apply_documents(upstream_manifests(docs, deps, path), "upstream-services.yaml")
        api = FaultProxyApi(url)
        listen: dict[str, tuple[str, int]] = {}
        for dep in deps:
            upstream = self.access.address(dep.namespace, dep.direct_service, dep.port)
            listen[dep.name] = api.create(dep.name, upstream)
            self.proxied[dep.name] = dep
        self._apply_documents(fronted_manifests(docs, deps, listen, path), "manifests-as-applied.yaml")

    def _apply_documents(self, docs: list[dict[str, Any]], name: str) -> None:
        """``kubectl apply`` documents, kept in the sandbox's evidence directory as applied."""
        path = self.workdir / name
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        self.kubectl("apply", "-f", str(path))

    def kubectl(self, *args: str, timeout_s: float = 60.0) -> str:
        """Run the real kubectl against the sandbox; a failure is a sandbox error with kubectl's words."""
        import os

        env = {**os.environ, **self.kube_env}
        try:
            done = subprocess.run(
                ["kubectl", *args], env=env, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ClusterError(f"kubectl {' '.join(args)} did not complete: {exc}") from exc
        if done.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
        return done.stdout

    def wait_available(self) -> None:
        """Wait until every Deployment of the scenario has all replicas available.

        Looks only at the sandbox's own namespaces, and there only at the Deployments its manifests name (on a
        shared cluster, an unrelated unhealthy one never blocks; one the provider did not deploy is not awaited).
        Fails at once, naming the pod, container and cause, when a pod of a Deployment still waited on cannot
        start by waiting (its command is missing, its image cannot be pulled, it crash-loops): the generous
        timeout is for slow starts, not for broken ones.
        """
        apps, core = client.AppsV1Api(self.api_client), client.CoreV1Api(self.api_client)
        namespaces, named = self.namespaces(), set(self._named_deployments())
        deadline = self.clock.monotonic() + self.ready_timeout_s
        pending: list[str] = []
        while self.clock.monotonic() < deadline:
            deployments = [d for ns in namespaces for d in self._items(apps.list_namespaced_deployment(ns))]
            deployments = [d for d in deployments if not named or _key(d) in named]
            waited = [d for d in deployments if _available(d) < int(d.get("spec", {}).get("replicas", 1))]
            pending = [f"{_ref(d)} ({_available(d)}/{d.get('spec', {}).get('replicas', 1)})" for d in waited]
            if deployments and not pending:
                return
            stuck = stuck_containers(self._pods_of(core, waited))
            if stuck:
                raise self._cannot_start(core, stuck)
            self.clock.sleep(0.25)
        error = SandboxError(
            f"the {self.scenario.name} system did not become available within {self.ready_timeout_s:.0f} s; "
            f"still waiting for: {', '.join(pending) or f'any deployment in {namespaces}'}"
        )
        for namespace in namespaces:
            with contextlib.suppress(Exception):
                error.add_note(self.kubectl("get", "pods", "-n", namespace, "-o", "wide"))
                error.add_note(self.kubectl("get", "events", "-n", namespace))
        error.add_note("Hint: run `drillbook localkube` with the scenario's images and `kubectl describe` the pods")
        raise error

    def change_fingerprint(self) -> SandboxSnapshot:
        """Whether anything the scenario deployed is changing, over its own namespaces only (the drill's
        :class:`~drillbook.drill.ports.ChangeProbe`; see :mod:`drillbook.drill.settle`).

        Raises :class:`ClusterError` when the API cannot be read: the drill then keeps watching.
        """
        apps, core = client.AppsV1Api(self.api_client), client.CoreV1Api(self.api_client)
        autoscaling = client.AutoscalingV2Api(self.api_client)
        seen: dict[str, list[dict[str, Any]]] = {"Deployment": [], "ReplicaSet": [], "Pod": [], "Autoscaler": []}
        try:
            for namespace in self.namespaces():
                seen["Deployment"] += self._items(apps.list_namespaced_deployment(namespace))
                seen["ReplicaSet"] += self._items(apps.list_namespaced_replica_set(namespace))
                seen["Pod"] += self._items(core.list_namespaced_pod(namespace))
                seen["Autoscaler"] += self._items(autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace))
        except Exception as exc:  # ApiException, urllib3's errors, a closed client: no evidence either way
            raise ClusterError(f"the sandbox's objects could not be listed: {type(exc).__name__}: {exc}") from exc
        return change_snapshot(seen)

    def namespaces(self) -> list[str]:
        """The sandbox's own namespaces: those its manifests create or put objects in, and the scenario's."""
        found: list[str] = []
        for doc in self._manifest_documents():
            meta = doc.get("metadata") or {}
            name = meta.get("name") if doc.get("kind") == "Namespace" else meta.get("namespace")
            found.append(str(name or "default"))
        specs = [self.scenario.app, self.scenario.postgres, self.scenario.redis]
        found += [spec.namespace for spec in specs if spec is not None]
        return sorted(set(found))

    def _named_deployments(self) -> list[tuple[str, str]]:
        """(namespace, name) of each Deployment the scenario's manifests name."""
        docs = [d for d in self._manifest_documents() if d.get("kind") == "Deployment"]
        return [_key(d) for d in docs if (d.get("metadata") or {}).get("name")]

    def _manifest_documents(self) -> list[dict[str, Any]]:
        """The scenario's manifests (none when unreadable: deploy has already said why)."""
        with contextlib.suppress(OSError, yaml.YAMLError):
            text = self.scenario.manifests.read_text(encoding="utf-8")
            return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        return []

    def _items(self, listing: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.api_client.sanitize_for_serialization(listing).get("items", [])
        return items

    def _pods_of(self, core: Any, deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The pods the given Deployments select (what their availability waits on)."""
        pods: list[dict[str, Any]] = []
        for namespace in sorted({d["metadata"].get("namespace", "default") for d in deployments}):
            mine = [d for d in deployments if d["metadata"].get("namespace", "default") == namespace]
            for pod in self._items(core.list_namespaced_pod(namespace)):
                labels = (pod.get("metadata") or {}).get("labels")
                if any(selects(d.get("spec", {}).get("selector"), labels) for d in mine):
                    pods.append(pod)
        return pods

    def _cannot_start(self, core: Any, stuck: list[StuckContainer]) -> SandboxError:
        """The error for pods that cannot start: each cause once, then the first pod's events and last log lines."""
        groups = by_cause(stuck)
        first = groups[0][0]
        evidence = " ".join(_pod_evidence(core, group[0]) for group in groups[:2])
        error = SandboxError(
            f"the {self.scenario.name} system cannot start: {'; '.join(describe_group(g) for g in groups)}. "
            f"Waiting cannot fix this: the container's image or command must change. {evidence}"
        )
        error.add_note(
            f"Hint: check what {first.image} maps to ({self.scenario.images} or `drillbook images`), "
            f"then `kubectl -n {first.namespace} describe pod {first.pod}`"
        )
        return error


def change_snapshot(seen: Mapping[str, Sequence[dict[str, Any]]]) -> SandboxSnapshot:
    """The fingerprint and the unsettled parts of listed objects, by kind (``Deployment``, ``ReplicaSet``, ``Pod``,
    ``Autoscaler``)."""
    parts: list[str] = []
    for kind, objects in sorted(seen.items()):
        for obj in objects:
            parts.append(f"{kind} {_ref(obj)} {obj['metadata'].get('resourceVersion', '')}")
    for pod in seen.get("Pod", ()):
        for status in _container_statuses(pod):
            parts.append(f"restarts {_ref(pod)}/{status.get('name')} {status.get('restartCount', 0)}")
    unsettled = [why for d in seen.get("Deployment", ()) if (why := _rollout_unsettled(d))]
    unsettled += [why for pod in seen.get("Pod", ()) if (why := _pod_unsettled(pod))]
    unsettled += [f"autoscaler {_ref(hpa)} may still scale" for hpa in seen.get("Autoscaler", ())]
    fingerprint = hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()
    return SandboxSnapshot(fingerprint, tuple(unsettled))


def _rollout_unsettled(deployment: dict[str, Any]) -> str | None:
    """Why a Deployment's rollout is not complete, or ``None`` (observed, and every replica updated and ready)."""
    meta, status = deployment["metadata"], deployment.get("status") or {}
    if status.get("observedGeneration") != meta.get("generation"):
        return f"deployment {_ref(deployment)}: generation {meta.get('generation')} not yet observed"
    desired = int((deployment.get("spec") or {}).get("replicas", 1))
    counts = {name: int(status.get(f"{name}Replicas", 0) or 0) for name in ("updated", "ready", "available")}
    counts["total"] = int(status.get("replicas", 0) or 0)
    if any(count != desired for count in counts.values()):
        shown = ", ".join(f"{count} {name}" for name, count in counts.items())
        return f"deployment {_ref(deployment)}: {shown} of {desired} replicas"
    return None


def _pod_unsettled(pod: dict[str, Any]) -> str | None:
    """Why a pod is on its way somewhere (pending, starting, waiting to restart, terminating), or ``None``."""
    if pod["metadata"].get("deletionTimestamp"):
        return f"pod {_ref(pod)} is terminating"
    if (pod.get("status") or {}).get("phase", "Pending") == "Pending":
        return f"pod {_ref(pod)} is pending"
    for status in _container_statuses(pod):
        waiting = (status.get("state") or {}).get("waiting")
        if waiting is not None:
            return f"pod {_ref(pod)}, container {status.get('name')}: waiting ({waiting.get('reason', 'no reason')})"
    return None


def _container_statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]


def _available(deployment: dict[str, Any]) -> int:
    return int(deployment.get("status", {}).get("availableReplicas", 0) or 0)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or "default"), str(meta.get("name"))


def _ref(obj: dict[str, Any]) -> str:
    return f"{obj['metadata'].get('namespace', 'default')}/{obj['metadata']['name']}"


#: How much of a stuck pod's evidence goes into the error (and so into the report's verdict reason).
_EVIDENCE_EVENTS = 6
_EVIDENCE_LOG_LINES = 10


def _pod_evidence(core: Any, stuck: StuckContainer) -> str:
    """``Events of pod ns/p: Warning Failed: …; … Last log lines of container c: …`` (what describe shows)."""
    try:
        listing = core.list_namespaced_event(stuck.namespace, field_selector=f"involvedObject.name={stuck.pod}")
        events = [f"{e.type} {e.reason}: {e.message}" for e in listing.items or []]
    except Exception as exc:  # evidence is best effort: the cause is already in the message
        events = [f"(events could not be read: {type(exc).__name__})"]
    try:
        text = core.read_namespaced_pod_log(
            stuck.pod, stuck.namespace, container=stuck.container, tail_lines=_EVIDENCE_LOG_LINES
        )
        lines = [line for line in str(text or "").splitlines() if line.strip()]
    except Exception:  # a container that never started has no log: that is evidence too
        lines = []
    logs = " | ".join(lines[-_EVIDENCE_LOG_LINES:]) or "(none: the container never wrote a line)"
    shown = "; ".join(events[-_EVIDENCE_EVENTS:]) or "(none)"
    return (
        f"Events of pod {stuck.namespace}/{stuck.pod}: {shown}. Last log lines of container {stuck.container}: {logs}."
    )
