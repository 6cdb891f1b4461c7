"""Per-kind row printers for server-side tables: upstream's columns and cell values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from drillbook.platform.local.kube.podprint import human_duration, pod_row
from drillbook.platform.local.kube.selectors import selector_string
from drillbook.platform.local.kube.store import parse_time

JsonObj = dict[str, Any]
Column = tuple[str, str, int]  # name, type, priority (1 = only with -o wide)
Row = list[Any]


def since(timestamp: str | None) -> str:
    """Age of a timestamp, ``<unknown>`` when missing."""
    when = parse_time(timestamp)
    if when is None:
        return "<unknown>"
    return human_duration((datetime.now(UTC) - when).total_seconds())


def _age(obj: JsonObj) -> str:
    return since(obj["metadata"].get("creationTimestamp"))


def _containers(obj: JsonObj) -> tuple[str, str]:
    cs = ((obj.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _deploy_row(d: JsonObj) -> Row:
    spec, st = d.get("spec") or {}, d.get("status") or {}
    names, images = _containers(d)
    return [
        d["metadata"]["name"],
        f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        _age(d),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def _rs_row(rs: JsonObj) -> Row:
    spec, st = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _containers(rs)
    return [
        rs["metadata"]["name"],
        spec.get("replicas", 0),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        _age(rs),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def _sts_row(s: JsonObj) -> Row:
    names, images = _containers(s)
    return [
        s["metadata"]["name"],
        f"{(s.get('status') or {}).get('readyReplicas', 0)}/{(s.get('spec') or {}).get('replicas', 0)}",
        _age(s),
        names,
        images,
    ]


def _svc_row(svc: JsonObj) -> Row:
    spec = svc.get("spec") or {}
    ports = []
    for p in spec.get("ports") or []:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        ports.append(f"{text}/{p.get('protocol', 'TCP')}")
    external = ",".join(spec.get("externalIPs") or [])
    if not external:
        external = "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    if spec.get("type") == "ExternalName":
        external = spec.get("externalName", "<none>")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [
        svc["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or "<none>",
        external,
        ",".join(ports) or "<none>",
        _age(svc),
        selector,
    ]


def _ep_row(ep: JsonObj) -> Row:
    addrs = []
    for subset in ep.get("subsets") or []:
        for a in subset.get("addresses") or []:
            for p in subset.get("ports") or [{}]:
                addrs.append(f"{a['ip']}:{p['port']}" if "port" in p else a["ip"])
    text = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [ep["metadata"]["name"], text or "<none>", _age(ep)]


def _event_row(ev: JsonObj) -> Row:
    inv = ev.get("involvedObject") or {}
    obj = f"{(inv.get('kind') or '').lower()}/{inv.get('name', '')}"
    last = ev.get("lastTimestamp") or ev.get("eventTime") or ev["metadata"].get("creationTimestamp")
    first = ev.get("firstTimestamp") or last
    source = (ev.get("source") or {}).get("component", "")
    return [
        since(last),
        ev.get("type", ""),
        ev.get("reason", ""),
        obj,
        inv.get("fieldPath", ""),
        source,
        (ev.get("message") or "").strip(),
        since(first),
        ev.get("count", 1),
        ev["metadata"]["name"],
    ]


def _node_row(node: JsonObj) -> Row:
    conds = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return [
        node["metadata"]["name"],
        "Ready" if ready else "NotReady",
        "control-plane",
        _age(node),
        info.get("kubeletVersion", ""),
        "127.0.0.1",
        "<none>",
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _hpa_row(h: JsonObj) -> Row:
    spec, st = h.get("spec") or {}, h.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    targets = []
    current = {
        (m.get("resource") or {}).get("name"): ((m.get("resource") or {}).get("current") or {})
        for m in st.get("currentMetrics") or []
    }
    for metric in spec.get("metrics") or []:
        name = (metric.get("resource") or {}).get("name", "cpu")
        target = (metric.get("resource") or {}).get("target") or {}
        if "averageUtilization" in target:
            seen = current.get(name, {}).get("averageUtilization")
            now = f"{seen}%" if seen is not None else "<unknown>"
            targets.append(f"{name}: {now}/{target['averageUtilization']}%")
    return [
        h["metadata"]["name"],
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        ", ".join(targets) or "<none>",
        spec.get("minReplicas", 1),
        spec.get("maxReplicas", 0),
        st.get("currentReplicas", 0),
        _age(h),
    ]


def _ing_row(ing: JsonObj) -> Row:
    spec = ing.get("spec") or {}
    hosts = [r.get("host", "*") for r in spec.get("rules") or []] or ["*"]
    ports = "80, 443" if spec.get("tls") else "80"
    lb = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [
        ing["metadata"]["name"],
        spec.get("ingressClassName") or "<none>",
        ",".join(hosts),
        ",".join(i.get("ip") or i.get("hostname", "") for i in lb),
        ports,
        _age(ing),
    ]


def _job_row(job: JsonObj) -> Row:
    st = job.get("status") or {}
    status = "Complete" if st.get("succeeded") else ("Running" if st.get("active") else "Pending")
    if st.get("failed") and not st.get("active"):
        status = "Failed"
    return [
        job["metadata"]["name"],
        status,
        f"{st.get('succeeded', 0)}/{(job.get('spec') or {}).get('completions', 1)}",
        "",
        _age(job),
    ]


def _cron_row(cj: JsonObj) -> Row:
    spec, st = cj.get("spec") or {}, cj.get("status") or {}
    return [
        cj["metadata"]["name"],
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        str(bool(spec.get("suspend"))),
        len(st.get("active") or []),
        since(st["lastScheduleTime"]) if st.get("lastScheduleTime") else "<none>",
        _age(cj),
    ]


def _pvc_row(pvc: JsonObj) -> Row:
    spec, st = pvc.get("spec") or {}, pvc.get("status") or {}
    return [
        pvc["metadata"]["name"],
        st.get("phase", "Pending"),
        spec.get("volumeName", ""),
        ((st.get("capacity") or {}).get("storage")) or "",
        ",".join(st.get("accessModes") or []),
        spec.get("storageClassName") or "",
        "<unset>",
        _age(pvc),
    ]


def _secret_row(s: JsonObj) -> Row:
    return [s["metadata"]["name"], s.get("type", "Opaque"), len(s.get("data") or {}), _age(s)]


def _cm_row(cm: JsonObj) -> Row:
    return [cm["metadata"]["name"], len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), _age(cm)]


def _ns_row(ns: JsonObj) -> Row:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", "Active"), _age(ns)]


def _rc_row(rc: JsonObj) -> Row:
    spec, st = rc.get("spec") or {}, rc.get("status") or {}
    names, images = _containers(rc)
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
    return [
        rc["metadata"]["name"],
        spec.get("replicas", 0),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        _age(rc),
        names,
        images,
        selector,
    ]


def _ds_row(ds: JsonObj) -> Row:
    st = ds.get("status") or {}
    names, images = _containers(ds)
    node_selector = ((ds.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeSelector") or {}
    return [
        ds["metadata"]["name"],
        st.get("desiredNumberScheduled", 0),
        st.get("currentNumberScheduled", 0),
        st.get("numberReady", 0),
        st.get("updatedNumberScheduled", 0),
        st.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in node_selector.items()) or "<none>",
        _age(ds),
        names,
        images,
        selector_string((ds.get("spec") or {}).get("selector")),
    ]


def _created_at_row(obj: JsonObj) -> Row:
    return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp", "")]


def _binding_row(b: JsonObj) -> Row:
    ref = b.get("roleRef") or {}
    subjects = b.get("subjects") or []

    def names(kind: str) -> str:
        found = [
            f"{s['namespace']}/{s['name']}" if kind == "ServiceAccount" and s.get("namespace") else str(s.get("name"))
            for s in subjects
            if s.get("kind") == kind
        ]
        return ", ".join(found)

    return [
        b["metadata"]["name"],
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        _age(b),
        names("User"),
        names("Group"),
        names("ServiceAccount"),
    ]


def _apiservice_row(svc: JsonObj) -> Row:
    ref = (svc.get("spec") or {}).get("service")
    where = f"{ref.get('namespace')}/{ref.get('name')}" if isinstance(ref, dict) else "Local"
    conds = (svc.get("status") or {}).get("conditions") or []
    available = next((c for c in conds if c.get("type") == "Available"), None)
    shown = "Unknown"
    if available is not None:
        shown = "True" if available.get("status") == "True" else f"False ({available.get('reason', '')})"
    return [svc["metadata"]["name"], where, shown, _age(svc)]


def _generic_row(obj: JsonObj) -> Row:
    return [obj["metadata"]["name"], _age(obj)]


_S, _I = "string", "integer"
_BINDING_COLUMNS: list[Column] = [
    ("Name", _S, 0),
    ("Role", _S, 0),
    ("Age", _S, 0),
    ("Users", _S, 1),
    ("Groups", _S, 1),
    ("ServiceAccounts", _S, 1),
]
PRINTERS: dict[str, tuple[list[Column], Callable[[JsonObj], Row]]] = {
    "Pod": (
        [
            ("Name", _S, 0),
            ("Ready", _S, 0),
            ("Status", _S, 0),
            ("Restarts", _S, 0),
            ("Age", _S, 0),
            ("IP", _S, 1),
            ("Node", _S, 1),
            ("Nominated Node", _S, 1),
            ("Readiness Gates", _S, 1),
        ],
        pod_row,
    ),
    "Deployment": (
        [
            ("Name", _S, 0),
            ("Ready", _S, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _deploy_row,
    ),
    "ReplicaSet": (
        [
            ("Name", _S, 0),
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _rs_row,
    ),
    "StatefulSet": (
        [("Name", _S, 0), ("Ready", _S, 0), ("Age", _S, 0), ("Containers", _S, 1), ("Images", _S, 1)],
        _sts_row,
    ),
    "Service": (
        [
            ("Name", _S, 0),
            ("Type", _S, 0),
            ("Cluster-IP", _S, 0),
            ("External-IP", _S, 0),
            ("Port(s)", _S, 0),
            ("Age", _S, 0),
            ("Selector", _S, 1),
        ],
        _svc_row,
    ),
    "Endpoints": ([("Name", _S, 0), ("Endpoints", _S, 0), ("Age", _S, 0)], _ep_row),
    "Event": (
        [
            ("Last Seen", _S, 0),
            ("Type", _S, 0),
            ("Reason", _S, 0),
            ("Object", _S, 0),
            ("Subobject", _S, 1),
            ("Source", _S, 1),
            ("Message", _S, 0),
            ("First Seen", _S, 1),
            ("Count", _I, 1),
            ("Name", _S, 1),
        ],
        _event_row,
    ),
    "Node": (
        [
            ("Name", _S, 0),
            ("Status", _S, 0),
            ("Roles", _S, 0),
            ("Age", _S, 0),
            ("Version", _S, 0),
            ("Internal-IP", _S, 1),
            ("External-IP", _S, 1),
            ("OS-Image", _S, 1),
            ("Kernel-Version", _S, 1),
            ("Container-Runtime", _S, 1),
        ],
        _node_row,
    ),
    "HorizontalPodAutoscaler": (
        [
            ("Name", _S, 0),
            ("Reference", _S, 0),
            ("Targets", _S, 0),
            ("MinPods", _S, 0),
            ("MaxPods", _I, 0),
            ("Replicas", _I, 0),
            ("Age", _S, 0),
        ],
        _hpa_row,
    ),
    "Ingress": (
        [("Name", _S, 0), ("Class", _S, 0), ("Hosts", _S, 0), ("Address", _S, 0), ("Ports", _S, 0), ("Age", _S, 0)],
        _ing_row,
    ),
    "Job": (
        [("Name", _S, 0), ("Status", _S, 0), ("Completions", _S, 0), ("Duration", _S, 0), ("Age", _S, 0)],
        _job_row,
    ),
    "CronJob": (
        [
            ("Name", _S, 0),
            ("Schedule", _S, 0),
            ("Timezone", _S, 0),
            ("Suspend", _S, 0),
            ("Active", _I, 0),
            ("Last Schedule", _S, 0),
            ("Age", _S, 0),
        ],
        _cron_row,
    ),
    "PersistentVolumeClaim": (
        [
            ("Name", _S, 0),
            ("Status", _S, 0),
            ("Volume", _S, 0),
            ("Capacity", _S, 0),
            ("Access Modes", _S, 0),
            ("StorageClass", _S, 0),
            ("VolumeAttributesClass", _S, 1),
            ("Age", _S, 0),
        ],
        _pvc_row,
    ),
    "Secret": ([("Name", _S, 0), ("Type", _S, 0), ("Data", _I, 0), ("Age", _S, 0)], _secret_row),
    "ConfigMap": ([("Name", _S, 0), ("Data", _I, 0), ("Age", _S, 0)], _cm_row),
    "Namespace": ([("Name", _S, 0), ("Status", _S, 0), ("Age", _S, 0)], _ns_row),
    "ReplicationController": (
        [
            ("Name", _S, 0),
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _rc_row,
    ),
    "DaemonSet": (
        [
            ("Name", _S, 0),
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Node Selector", _S, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _ds_row,
    ),
    "Role": ([("Name", _S, 0), ("Created At", "date", 0)], _created_at_row),
    "ClusterRole": ([("Name", _S, 0), ("Created At", "date", 0)], _created_at_row),
    "RoleBinding": (_BINDING_COLUMNS, _binding_row),
    "ClusterRoleBinding": (_BINDING_COLUMNS, _binding_row),
    "APIService": ([("Name", _S, 0), ("Service", _S, 0), ("Available", _S, 0), ("Age", _S, 0)], _apiservice_row),
}
GENERIC: tuple[list[Column], Callable[[JsonObj], Row]] = ([("Name", _S, 0), ("Age", _S, 0)], _generic_row)
