"""API ``Status`` errors shaped like the real API server's."""

from __future__ import annotations

from typing import Any

from drillbook.errors import ClusterError

JsonObj = dict[str, Any]

_REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "AlreadyExists",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}


class ApiStatusError(ClusterError):
    """A request the API refuses; rendered as a ``Status`` object with the HTTP code."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        kind: str | None = None,
        name: str | None = None,
        group: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.details: JsonObj = {}
        if name is not None:
            self.details["name"] = name
        if group:
            self.details["group"] = group
        if kind is not None:
            self.details["kind"] = kind

    def to_status(self) -> JsonObj:
        """The ``Status`` body the API server sends for this error."""
        body: JsonObj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        # Upstream's field order (metav1.Status): ..., reason, details, code.
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def not_found(resource: str, name: str, group: str = "") -> ApiStatusError:
    """``pods "x" not found`` (with the group suffix for non-core kinds, like upstream)."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiStatusError(404, f'{qualified} "{name}" not found', kind=resource, name=name, group=group)


def already_exists(resource: str, name: str, group: str = "") -> ApiStatusError:
    """``pods "x" already exists``."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiStatusError(409, f'{qualified} "{name}" already exists', kind=resource, name=name, group=group)


def conflict(resource: str, name: str, group: str = "") -> ApiStatusError:
    """The optimistic-concurrency conflict message upstream sends."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiStatusError(
        409,
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        reason="Conflict",
        kind=resource,
        name=name,
        group=group,
    )


def bad_request(message: str) -> ApiStatusError:
    """A 400 with upstream's BadRequest reason."""
    return ApiStatusError(400, message)
