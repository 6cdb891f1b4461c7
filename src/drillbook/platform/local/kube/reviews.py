"""Authorization reviews (``kubectl auth can-i``): answered on the spot, never stored.

localkube has one user, a cluster admin, so every access review is allowed; the stored RBAC objects are listed and
described but do not restrict anything.
"""

from __future__ import annotations

from typing import Any

from drillbook.platform.local.kube.resources import Resource
from drillbook.platform.local.kube.status import bad_request

JsonObj = dict[str, Any]
REVIEW_KINDS = frozenset({"SelfSubjectAccessReview", "SelfSubjectRulesReview"})
_ALLOW_ALL_RULES: JsonObj = {
    "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
    "incomplete": False,
}


def answer(res: Resource, body: Any) -> JsonObj:
    """The review with its ``status`` filled in, as the API server returns it (HTTP 201).

    Raises:
        ApiStatusError: 400 when the body is not an object with a ``spec``.
    """
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        raise bad_request(f"expected a {res.kind} with a spec, got {type(body).__name__}")
    meta = body.get("metadata") or {}
    status: JsonObj
    if res.kind == "SelfSubjectAccessReview":
        status = {"allowed": True, "reason": "localkube authorizes every request of its only user"}
    else:
        status = dict(_ALLOW_ALL_RULES)
    return {
        "kind": res.kind,
        "apiVersion": res.api_version,
        "metadata": {"creationTimestamp": None, **meta},
        "spec": body["spec"],
        "status": status,
    }
