"""The kinds localkube serves: group, version, kind, scope, verbs and short names."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
RBAC = "rbac.authorization.k8s.io"
AUTHZ = "authorization.k8s.io"


@dataclass(frozen=True)
class Resource:
    """One REST resource (plural name) and what discovery says about it."""

    name: str
    kind: str
    group: str = ""
    version: str = "v1"
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    has_status: bool = True
    categories: tuple[str, ...] = ()
    singular: str = field(default="")
    verbs: tuple[str, ...] = ALL_VERBS

    @property
    def api_version(self) -> str:
        """``apps/v1`` or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular_name(self) -> str:
        """Lower-case kind, as discovery reports it."""
        return self.singular or self.kind.lower()


RESOURCES: tuple[Resource, ...] = (
    Resource("namespaces", "Namespace", namespaced=False, short_names=("ns",), subresources=("status",)),
    Resource(
        "pods",
        "Pod",
        short_names=("po",),
        subresources=("status", "log", "exec", "attach", "portforward", "proxy"),
        categories=("all",),
    ),
    Resource("services", "Service", short_names=("svc",), subresources=("status", "proxy"), categories=("all",)),
    Resource("endpoints", "Endpoints", short_names=("ep",), has_status=False),
    Resource("events", "Event", short_names=("ev",), has_status=False),
    Resource("configmaps", "ConfigMap", short_names=("cm",), has_status=False),
    Resource("secrets", "Secret", has_status=False),
    Resource("serviceaccounts", "ServiceAccount", short_names=("sa",), has_status=False),
    Resource("persistentvolumeclaims", "PersistentVolumeClaim", short_names=("pvc",), subresources=("status",)),
    Resource("nodes", "Node", namespaced=False, short_names=("no",), subresources=("status", "proxy")),
    Resource("leases", "Lease", group="coordination.k8s.io", has_status=False),
    Resource(
        "deployments",
        "Deployment",
        group="apps",
        short_names=("deploy",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource(
        "replicasets",
        "ReplicaSet",
        group="apps",
        short_names=("rs",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource(
        "statefulsets",
        "StatefulSet",
        group="apps",
        short_names=("sts",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource("controllerrevisions", "ControllerRevision", group="apps", has_status=False),
    Resource(
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        group="autoscaling",
        version="v2",
        short_names=("hpa",),
        subresources=("status",),
        categories=("all",),
    ),
    Resource("ingresses", "Ingress", group="networking.k8s.io", short_names=("ing",), subresources=("status",)),
    Resource("jobs", "Job", group="batch", subresources=("status",), categories=("all",)),
    Resource("cronjobs", "CronJob", group="batch", short_names=("cj",), subresources=("status",), categories=("all",)),
    Resource(
        "replicationcontrollers",
        "ReplicationController",
        short_names=("rc",),
        subresources=("status", "scale"),
        categories=("all",),
    ),
    Resource(
        "daemonsets", "DaemonSet", group="apps", short_names=("ds",), subresources=("status",), categories=("all",)
    ),
    Resource("roles", "Role", group=RBAC, has_status=False),
    Resource("rolebindings", "RoleBinding", group=RBAC, has_status=False),
    Resource("clusterroles", "ClusterRole", group=RBAC, namespaced=False, has_status=False),
    Resource("clusterrolebindings", "ClusterRoleBinding", group=RBAC, namespaced=False, has_status=False),
    Resource("apiservices", "APIService", group="apiregistration.k8s.io", namespaced=False, subresources=("status",)),
    # Reviews are answered, never stored (see ``routes``): every request is allowed, as for a cluster admin.
    Resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", group=AUTHZ, namespaced=False, verbs=("create",)),
    Resource("selfsubjectrulesreviews", "SelfSubjectRulesReview", group=AUTHZ, namespaced=False, verbs=("create",)),
)

BY_NAME: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.name): r for r in RESOURCES}
BY_KIND: dict[str, Resource] = {r.kind: r for r in RESOURCES}


def lookup(group: str, version: str, name: str) -> Resource | None:
    """Return the resource served at ``/apis/<group>/<version>/<name>`` (core: group "")."""
    return BY_NAME.get((group, version, name))


def by_plural(name: str) -> Resource:
    """Return the resource with this plural name (unique across our groups)."""
    for res in RESOURCES:
        if res.name == name:
            return res
    raise KeyError(name)


def group_versions() -> dict[str, list[str]]:
    """Map each group ("" = core) to its served versions."""
    out: dict[str, list[str]] = {}
    for res in RESOURCES:
        versions = out.setdefault(res.group, [])
        if res.version not in versions:
            versions.append(res.version)
    return out
