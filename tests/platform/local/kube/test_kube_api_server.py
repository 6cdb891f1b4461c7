"""The API server in-process with a fake kubelet: REST semantics, controllers and streams over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kube_fakes import FakeKubelet

from drillbook.errors import UsageError
from drillbook.platform.local.kube.cluster import LocalKube, write_kubeconfig

pytestmark = pytest.mark.live

JsonObj = dict[str, Any]
Check = Callable[["Client"], Awaitable[None]]
APPS = "/apis/apps/v1/namespaces/default"
CORE = "/api/v1/namespaces/default"


class Client:
    def __init__(self, kube: LocalKube, session: aiohttp.ClientSession, kubelet: FakeKubelet) -> None:
        self.kube, self.session, self.kubelet = kube, session, kubelet

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = json.dumps(body) if body is not None else None
        async with self.session.request(
            method, self.kube.url + path, data=data, headers={"Content-Type": ctype, **(headers or {})}
        ) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def until(self, path: str, check: Callable[[Any], bool], timeout: float = 5.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        body: Any = None
        while asyncio.get_running_loop().time() < deadline:
            _code, body = await self.call("GET", path)
            if check(body):
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"{path} never satisfied the check; last body: {json.dumps(body)[:2000]}")


def run(tmp_path: Path, check: Check, *, ready: bool = True) -> FakeKubelet:
    holder: list[FakeKubelet] = []

    def factory(api: Any, _state: Path) -> FakeKubelet:
        holder.append(FakeKubelet(api, ready=ready))
        return holder[0]

    async def main() -> None:
        async with (
            LocalKube(state_dir=tmp_path, kubelet_factory=factory) as kube,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=8)) as s,
        ):
            # Bounded, so a stuck request fails with a traceback pointing at the await that hung.
            await asyncio.wait_for(check(Client(kube, s, holder[0])), 30)

    asyncio.run(main())
    return holder[0]


def _deployment(name: str = "web", replicas: int = 2, env: str = "1") -> JsonObj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "annotations": {"kubernetes.io/change-cause": f"env {env}"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "web:1",
                            "env": [{"name": "E", "value": env}],
                            "ports": [{"containerPort": 8080, "name": "http"}],
                        }
                    ]
                },
            },
        },
    }


def _owned_rs(body: JsonObj) -> list[JsonObj]:
    return body["items"]


def test_unknown_objects_answer_a_not_found_status_like_upstream(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        code, body = await c.call("GET", f"{CORE}/pods/ghost")
        assert code == 404
        assert body["kind"] == "Status"
        assert body["reason"] == "NotFound"
        assert body["message"] == 'pods "ghost" not found'
        assert body["details"] == {"name": "ghost", "kind": "pods"}
        code, body = await c.call("GET", f"{APPS}/deployments/ghost")
        assert body["message"] == 'deployments.apps "ghost" not found'

    run(tmp_path, check)


def test_discovery_version_and_openapi_answer_what_kubectl_asks(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        _code, version = await c.call("GET", "/version")
        assert version["minor"] == "32"
        _code, groups = await c.call("GET", "/apis")
        assert "metrics.k8s.io" in {g["name"] for g in groups["groups"]}
        _code, core = await c.call("GET", "/api/v1")
        pods = next(r for r in core["resources"] if r["name"] == "pods")
        assert pods["shortNames"] == ["po"]
        assert pods["namespaced"]
        _code, root = await c.call("GET", "/openapi/v3")
        url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
        _code, doc = await c.call("GET", url)
        patch_ops = [p["patch"] for p in doc["paths"].values()]
        assert {"group": "apps", "version": "v1", "kind": "Deployment"} in [
            op["x-kubernetes-group-version-kind"] for op in patch_ops
        ]

    run(tmp_path, check)


def test_deployment_creates_a_replicaset_with_hash_and_revision_and_becomes_available(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        code, created = await c.call("POST", f"{APPS}/deployments", _deployment())
        assert code == 201
        assert created["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
        done = await c.until(f"{APPS}/deployments/web", lambda d: d.get("status", {}).get("availableReplicas") == 2)
        conditions = {x["type"]: x["reason"] for x in done["status"]["conditions"]}
        assert conditions == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}
        _code, rs_list = await c.call("GET", f"{APPS}/replicasets")
        (rs,) = rs_list["items"]
        digest = rs["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == f"web-{digest}"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        assert rs["metadata"]["annotations"]["kubernetes.io/change-cause"] == "env 1"
        _code, pods = await c.call("GET", f"{CORE}/pods?labelSelector=app%3Dweb")
        assert len(pods["items"]) == 2
        assert all(p["spec"]["nodeName"] == "localkube" for p in pods["items"])
        _code, events = await c.call("GET", f"{CORE}/events?fieldSelector=involvedObject.name%3Dweb")
        assert any(e["reason"] == "ScalingReplicaSet" for e in events["items"])

    run(tmp_path, check)


def test_template_change_rolls_out_a_new_replicaset_and_undo_reuses_the_old_one(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        await c.call("POST", f"{APPS}/deployments", _deployment())
        await c.until(f"{APPS}/deployments/web", lambda d: d.get("status", {}).get("availableReplicas") == 2)
        _code, first = await c.call("GET", f"{APPS}/replicasets")
        old_template = first["items"][0]["spec"]["template"]
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "E", "value": "2"}]}]}}}}
        code, _ = await c.call("PATCH", f"{APPS}/deployments/web", patch, "application/strategic-merge-patch+json")
        assert code == 200

        def rolled(body: JsonObj) -> bool:
            return sorted(rs["spec"]["replicas"] for rs in body["items"]) == [0, 2]

        await c.until(f"{APPS}/replicasets", rolled)
        old_template["metadata"]["labels"].pop("pod-template-hash")
        undo = [{"op": "replace", "path": "/spec/template", "value": old_template}]
        await c.call("PATCH", f"{APPS}/deployments/web", undo, "application/json-patch+json")
        body = await c.until(
            f"{APPS}/replicasets",
            lambda b: any(
                rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3" for rs in b["items"]
            ),
        )
        assert len(body["items"]) == 2
        reused = next(rs for rs in body["items"] if rs["metadata"]["uid"] == first["items"][0]["metadata"]["uid"])
        assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        await c.until(f"{APPS}/replicasets/{reused['metadata']['name']}", lambda rs: rs["spec"]["replicas"] == 2)

    run(tmp_path, check)


def test_unready_new_pods_keep_the_old_replicaset_serving(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        c.kubelet.ready = True
        await c.call("POST", f"{APPS}/deployments", _deployment(replicas=3))
        await c.until(f"{APPS}/deployments/web", lambda d: d.get("status", {}).get("availableReplicas") == 3)
        c.kubelet.ready = False
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "web:typo"}]}}}}
        await c.call("PATCH", f"{APPS}/deployments/web", patch, "application/strategic-merge-patch+json")
        await c.until(f"{APPS}/replicasets", lambda b: len(b["items"]) == 2)
        await asyncio.sleep(0.5)
        _code, body = await c.call("GET", f"{APPS}/replicasets")
        counts = sorted(rs["spec"]["replicas"] for rs in body["items"])
        assert counts == [1, 3], "maxSurge 25% of 3 = 1 new pod; maxUnavailable 0 keeps all 3 old ones"

    run(tmp_path, check)


def test_deleting_a_deployment_collects_its_replicasets_and_pods(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        await c.call("POST", f"{APPS}/deployments", _deployment())
        await c.until(f"{CORE}/pods", lambda b: len(b["items"]) == 2)
        code, _ = await c.call("DELETE", f"{APPS}/deployments/web", {"propagationPolicy": "Background"})
        assert code == 200
        await c.until(f"{APPS}/replicasets", lambda b: not b["items"])
        await c.until(f"{CORE}/pods", lambda b: not b["items"])

    kubelet = run(tmp_path, check)
    assert len(kubelet.killed) == 2


def test_pod_delete_marks_terminating_then_watch_sees_deleted(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "web:1"}]}}
        await c.call("POST", f"{CORE}/pods", pod)
        running = await c.until(f"{CORE}/pods/p", lambda p: p.get("status", {}).get("phase") == "Running")
        assert running["spec"]["terminationGracePeriodSeconds"] == 30
        assert running["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
        rv = running["metadata"]["resourceVersion"]
        async with c.session.get(f"{c.kube.url}{CORE}/pods?watch=true&resourceVersion={rv}&timeoutSeconds=3") as w:
            _code, deleted = await c.call("DELETE", f"{CORE}/pods/p")
            assert deleted["metadata"]["deletionTimestamp"]
            events = []
            async for line in w.content:
                events.append(json.loads(line))
                if events[-1]["type"] == "DELETED":
                    break
        assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]

    run(tmp_path, check)


def test_services_get_a_cluster_ip_endpoints_and_a_working_proxy(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        await c.call("POST", f"{APPS}/deployments", _deployment(replicas=1))
        pods = await c.until(f"{CORE}/pods", lambda b: b["items"] and b["items"][0].get("status", {}).get("podIP"))
        ip = pods["items"][0]["status"]["podIP"]

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"pong:" + await reader.read(4))
            await writer.drain()
            writer.close()

        backend = await asyncio.start_server(echo, ip, 8080)
        try:
            svc = {
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
            }
            _code, created = await c.call("POST", f"{CORE}/services", svc)
            cluster_ip = created["spec"]["clusterIP"]
            assert cluster_ip.startswith("127.20.")
            assert created["spec"]["ports"][0]["protocol"] == "TCP"
            ep = await c.until(f"{CORE}/endpoints/web", lambda e: bool(e.get("subsets")))
            assert ep["subsets"][0]["addresses"][0]["ip"] == ip
            assert ep["subsets"][0]["ports"][0]["port"] == 8080
            for _ in range(50):
                try:
                    reader, writer = await asyncio.open_connection(cluster_ip, 80)
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            writer.write(b"ping")
            assert await reader.read(100) == b"pong:ping"
            writer.close()
        finally:
            backend.close()

    run(tmp_path, check)


def test_get_with_table_accept_header_returns_upstream_columns(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        await c.call("POST", f"{APPS}/deployments", _deployment())
        await c.until(f"{APPS}/deployments/web", lambda d: d.get("status", {}).get("readyReplicas") == 2)
        accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        _code, body = await c.call("GET", f"{APPS}/deployments", headers={"Accept": accept})
        assert body["kind"] == "Table"
        assert [col["name"] for col in body["columnDefinitions"]][:5] == [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
        ]
        assert body["rows"][0]["cells"][:4] == ["web", "2/2", 2, 2]

    run(tmp_path, check)


def test_scale_subresource_reads_and_writes_replicas(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        await c.call("POST", f"{APPS}/deployments", _deployment())
        code, scale = await c.call(
            "PATCH", f"{APPS}/deployments/web/scale", {"spec": {"replicas": 4}}, "application/merge-patch+json"
        )
        assert code == 200
        assert scale["kind"] == "Scale"
        assert scale["spec"]["replicas"] == 4
        assert scale["status"]["selector"] == "app=web"
        await c.until(f"{CORE}/pods", lambda b: len(b["items"]) == 4)

    run(tmp_path, check)


def test_logs_pass_options_to_the_kubelet_and_map_its_errors(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "web:1"}]}}
        await c.call("POST", f"{CORE}/pods", pod)
        code, text = await c.call("GET", f"{CORE}/pods/p/log?container=c&tailLines=5&sinceSeconds=60&timestamps=true")
        assert (code, text) == (200, "one\ntwo\n")
        assert c.kubelet.log_calls[-1]["tail_lines"] == 5
        assert c.kubelet.log_calls[-1]["since_seconds"] == 60.0
        code, body = await c.call("GET", f"{CORE}/pods/p/log?previous=true")
        assert code == 400
        assert body["kind"] == "Status"

    run(tmp_path, check)


def test_exec_speaks_the_v5_channel_protocol_with_exit_code_status(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "web:1"}]}}
        await c.call("POST", f"{CORE}/pods", pod)
        url = f"{c.kube.url}{CORE}/pods/p/exec?command=sh&command=-c&command=3&stdout=true&stderr=true"
        async with c.session.ws_connect(url, protocols=("v5.channel.k8s.io",)) as ws:
            assert ws.protocol == "v5.channel.k8s.io"
            frames = [msg.data async for msg in ws]
        assert frames[0] == b"\x01sh -c 3\n"
        assert frames[1] == b"\x02warn\n"
        status = json.loads(frames[2][1:])
        assert status["reason"] == "NonZeroExitCode"
        assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]

    run(tmp_path, check)


def test_metrics_api_reports_pod_usage_for_top(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        pod = {"metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
        await c.call("POST", f"{CORE}/pods", pod)
        await c.until(f"{CORE}/pods/p", lambda p: p.get("status", {}).get("phase") == "Running")
        _code, body = await c.call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=a%3Db")
        assert body["items"][0]["containers"] == [{"name": "c", "usage": {"cpu": "5000000n", "memory": "20480Ki"}}]

    run(tmp_path, check)


def test_a_stalled_rollout_reports_progress_deadline_exceeded(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        c.kube.server.api.time_factor = 0.002  # progressDeadlineSeconds 600 -> 1.2 s
        await c.call("POST", f"{APPS}/deployments", _deployment(replicas=1))

        def stalled(d: JsonObj) -> bool:
            conds = {x["type"]: x for x in d.get("status", {}).get("conditions", [])}
            return conds.get("Progressing", {}).get("reason") == "ProgressDeadlineExceeded"

        done = await c.until(f"{APPS}/deployments/web", stalled, timeout=6)
        progressing = next(x for x in done["status"]["conditions"] if x["type"] == "Progressing")
        assert progressing["status"] == "False"
        assert progressing["message"].endswith("has timed out progressing.")

    run(tmp_path, check, ready=False)


def test_deleting_a_namespace_removes_everything_in_it(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        await c.call("POST", "/api/v1/namespaces", {"metadata": {"name": "gone"}})
        await c.call("POST", "/apis/apps/v1/namespaces/gone/deployments", _deployment())
        await c.until("/api/v1/namespaces/gone/pods", lambda b: len(b["items"]) == 2)
        _code, ns = await c.call("DELETE", "/api/v1/namespaces/gone")
        assert ns["status"]["phase"] == "Terminating"
        await c.until("/api/v1/namespaces/gone", lambda b: b.get("code") == 404)
        _code, pods = await c.call("GET", "/api/v1/pods")
        assert all(p["metadata"]["namespace"] != "gone" for p in pods["items"])
        code, body = await c.call("DELETE", "/api/v1/namespaces/default")
        assert code == 403
        assert "may not be deleted" in body["message"]

    run(tmp_path, check)


def test_kubeconfig_inside_the_users_kube_dir_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UsageError, match="per-run path"):
        write_kubeconfig(tmp_path / ".kube" / "config", "http://127.0.0.1:1")
    assert not (tmp_path / ".kube").exists()


def test_watch_with_a_selector_sees_an_object_leave_as_deleted(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        _code, cm = await c.call("POST", f"{CORE}/configmaps", {"metadata": {"name": "m", "labels": {"tier": "a"}}})
        rv = cm["metadata"]["resourceVersion"]
        url = f"{c.kube.url}{CORE}/configmaps?watch=true&labelSelector=tier%3Da&resourceVersion={rv}&timeoutSeconds=3"
        async with c.session.get(url) as w:
            await c.call(
                "PATCH", f"{CORE}/configmaps/m", {"metadata": {"labels": {"tier": "b"}}}, "application/merge-patch+json"
            )
            await c.call(
                "PATCH", f"{CORE}/configmaps/m", {"metadata": {"labels": {"tier": "a"}}}, "application/merge-patch+json"
            )
            types = []
            async for line in w.content:
                types.append(json.loads(line)["type"])
                if len(types) == 2:
                    break
        assert types == ["DELETED", "ADDED"]

    run(tmp_path, check)


def test_server_side_dry_run_changes_nothing(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        await c.call("POST", f"{CORE}/configmaps", {"metadata": {"name": "m"}, "data": {"a": "1"}})
        _code, patched = await c.call(
            "PATCH", f"{CORE}/configmaps/m?dryRun=All", {"data": {"a": "2"}}, "application/merge-patch+json"
        )
        assert patched["data"] == {"a": "2"}
        await c.call("DELETE", f"{CORE}/configmaps/m?dryRun=All")
        code, _ = await c.call("POST", f"{CORE}/configmaps?dryRun=All", {"metadata": {"name": "n"}})
        assert code == 201
        _code, stored = await c.call("GET", f"{CORE}/configmaps/m")
        assert stored["data"] == {"a": "1"}
        code, _ = await c.call("GET", f"{CORE}/configmaps/n")
        assert code == 404

    run(tmp_path, check)


def test_hpa_scales_a_deployment_toward_its_cpu_target(tmp_path: Path) -> None:
    async def check(c: Client) -> None:
        c.kube.server.api.time_factor = 0.001  # 15 s sync period -> 15 ms
        body = _deployment(replicas=2)
        body["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "10m"}}
        await c.call("POST", f"{APPS}/deployments", body)
        await c.until(f"{APPS}/deployments/web", lambda d: d.get("status", {}).get("readyReplicas") == 2)
        hpa = {
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1,
                "maxReplicas": 3,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 25}},
                    }
                ],
            },
        }
        await c.call("POST", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", hpa)
        await c.until(f"{APPS}/deployments/web", lambda d: d["spec"]["replicas"] == 3)
        status = await c.until(
            "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web",
            lambda h: h.get("status", {}).get("desiredReplicas") == 3,
        )
        assert status["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 50
        _code, events = await c.call("GET", f"{CORE}/events?fieldSelector=reason%3DSuccessfulRescale")
        assert events["items"][0]["message"] == "New size: 3; reason: All metrics above target"

    run(tmp_path, check)
