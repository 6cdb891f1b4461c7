"""The fault proxy in front of a sandbox's datastores, so network faults act on every drill.

Every client on the application's side of the network reaches PostgreSQL and Redis through a Toxiproxy proxy.
The datastore's Service keeps its name, ClusterIP and port, so the app's ``$(POSTGRES_SERVICE_HOST)`` and the
runbook's ``<DB_HOST>`` do not change; only what the Service routes to does::

    app, runbook psql ─► Service postgres (no selector; Endpoints = the proxy's listener)
                            └─► fault proxy "postgres" ─► Service postgres-direct (the original selector) ─► pod

That is the shape of a selector-less Service in front of a managed database, or of a Toxiproxy ambassador. A client
inside the datastore's own pod (``kubectl exec deploy/postgres -- psql``) bypasses the proxy, as an operator logged
in on the database host bypasses the network. The faults' own helpers (a connection hog, ``DROP INDEX``) use the
``-direct`` Service: they act on the datastore, not through the network they may be breaking.

The rewrite is pure (:func:`fronted_manifests`) and needs the proxies' listen addresses, which need the
``-direct`` Services' ClusterIPs: so a sandbox applies :func:`upstream_manifests` first, creates the proxies
(:class:`FaultProxyApi`), then applies the rewritten manifests in one go, before any app pod has connected.
"""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillbook.errors import SandboxError, ScenarioError
from drillbook.scenario import Scenario

JsonObj = dict[str, Any]

DIRECT_SUFFIX = "-direct"
"""The Service that still selects the datastore's pods is the datastore's Service name plus this suffix."""
MANAGED_BY = {"app.kubernetes.io/managed-by": "drillbook"}
"""Labels on what drillbook adds to the scenario's manifests."""


@dataclass(frozen=True)
class Dependency:
    """A datastore the app reaches through the fault proxy."""

    name: str
    """The dependency (``postgres``, ``redis``): also the proxy's name, as faults' ``dependency`` parameter."""
    namespace: str
    service: str
    port: int

    @property
    def direct_service(self) -> str:
        """The Service that reaches the datastore's pods without the proxy."""
        return f"{self.service}{DIRECT_SUFFIX}"


def dependencies(scenario: Scenario) -> list[Dependency]:
    """The scenario's datastores, each to be fronted by a proxy of its own name."""
    found: list[Dependency] = []
    if scenario.postgres is not None:
        pg = scenario.postgres
        found.append(Dependency("postgres", pg.namespace, pg.service, pg.port))
    if scenario.redis is not None:
        redis = scenario.redis
        found.append(Dependency("redis", redis.namespace, redis.service, redis.port))
    return found


def _namespace(doc: JsonObj) -> str:
    return str((doc.get("metadata") or {}).get("namespace") or "default")


def _service_doc(docs: Sequence[JsonObj], dep: Dependency, manifests: Path) -> JsonObj:
    for doc in docs:
        meta = doc.get("metadata") or {}
        if doc.get("kind") == "Service" and meta.get("name") == dep.service and _namespace(doc) == dep.namespace:
            return doc
    raise ScenarioError(
        f"no Service {dep.namespace}/{dep.service} for the {dep.name} the scenario names; "
        f"the fault proxy is put in front of that Service",
        path=manifests,
    )


def _service_port(service: JsonObj, dep: Dependency, manifests: Path) -> JsonObj:
    for port in (service.get("spec") or {}).get("ports") or []:
        if int(port.get("port", 0)) == dep.port:
            return dict(port)
    raise ScenarioError(f"Service {dep.namespace}/{dep.service} has no port {dep.port}", path=manifests)


def upstream_manifests(docs: Sequence[JsonObj], deps: Sequence[Dependency], manifests: Path) -> list[JsonObj]:
    """What must exist before the proxies: the manifests' Namespaces and one ``-direct`` Service per dependency,
    with the original Service's selector and ports."""
    out = [copy.deepcopy(d) for d in docs if d.get("kind") == "Namespace"]
    names = {(_namespace(d), (d.get("metadata") or {}).get("name")) for d in docs if d.get("kind") == "Service"}
    for dep in deps:
        original = _service_doc(docs, dep, manifests)
        if (dep.namespace, dep.direct_service) in names:
            raise ScenarioError(
                f"Service {dep.namespace}/{dep.direct_service} is drillbook's route around the fault proxy; "
                f"rename the scenario's own",
                path=manifests,
            )
        spec = original.get("spec") or {}
        if not spec.get("selector"):
            raise ScenarioError(
                f"Service {dep.namespace}/{dep.service} has no selector: the fault proxy needs to know its pods",
                path=manifests,
            )
        labels = {**((original.get("metadata") or {}).get("labels") or {}), **MANAGED_BY}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": dep.direct_service, "namespace": dep.namespace, "labels": labels},
                "spec": {"selector": dict(spec["selector"]), "ports": copy.deepcopy(spec.get("ports") or [])},
            }
        )
    return out


def fronted_manifests(
    docs: Sequence[JsonObj], deps: Sequence[Dependency], listen: Mapping[str, tuple[str, int]], manifests: Path
) -> list[JsonObj]:
    """The scenario's manifests with each dependency's Service routed to its proxy's listener.

    The Service loses its selector and gets an Endpoints object naming ``listen[dep.name]``; everything else,
    the ``-direct`` Services included, is applied as is.
    """
    out = [copy.deepcopy(d) for d in docs]
    for doc in upstream_manifests(docs, deps, manifests):
        if doc["kind"] == "Service":
            out.append(doc)
    for dep in deps:
        service = _service_doc(out, dep, manifests)
        port = _service_port(service, dep, manifests)
        service["spec"].pop("selector", None)
        host, number = listen[dep.name]
        endpoint_port: JsonObj = {"port": number, "protocol": port.get("protocol", "TCP")}
        if port.get("name"):
            endpoint_port["name"] = port["name"]
        labels = {**((service.get("metadata") or {}).get("labels") or {}), **MANAGED_BY}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": dep.service, "namespace": dep.namespace, "labels": labels},
                "subsets": [{"addresses": [{"ip": host}], "ports": [endpoint_port]}],
            }
        )
    return out


class FaultProxyApi:
    """Creates proxies over the Toxiproxy HTTP API (so a real Toxiproxy can stand in for drillbook's own)."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def create(self, name: str, upstream: tuple[str, int], listen_host: str = "127.0.0.1") -> tuple[str, int]:
        """Create proxy ``name`` on a free port of ``listen_host`` in front of ``upstream``; its listen address."""
        body = {"name": name, "listen": f"{listen_host}:0", "upstream": f"{upstream[0]}:{upstream[1]}"}
        self._call("POST", "/proxies", body)
        listen = str(self._call("GET", f"/proxies/{name}")["listen"])
        host, _, port = listen.rpartition(":")
        return host, int(port)

    def _call(self, method: str, path: str, body: JsonObj | None = None) -> JsonObj:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer: JsonObj = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
            raise SandboxError(f"the fault proxy at {self.url} refused {method} {path}: {exc.code} {detail}") from exc
        except (OSError, ValueError) as exc:
            raise SandboxError(f"the fault proxy at {self.url} did not answer {method} {path}: {exc}") from exc
