"""Errors of the fault proxy: API errors carry the HTTP status Toxiproxy would answer with."""

from __future__ import annotations

import json

from drillbook.errors import SandboxError


class FaultProxyError(SandboxError):
    """The fault proxy could not be started, reached or stopped."""


class ApiError(Exception):
    """A request Toxiproxy would refuse; rendered as ``{"error": message, "status": status}``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> str:
        """The JSON body, with the trailing newline Go's ``http.Error`` adds."""
        return json.dumps({"error": self.message, "status": self.status}) + "\n"


def bad_request(detail: str) -> ApiError:
    """``bad request body: <detail>`` (400), as Toxiproxy words it."""
    return ApiError(f"bad request body: {detail}", 400)


def missing_field(name: str) -> ApiError:
    """``missing required field: <name>`` (400)."""
    return ApiError(f"missing required field: {name}", 400)


PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)
