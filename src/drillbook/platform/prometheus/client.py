"""A small client for Prometheus's HTTP API (``/api/v1/query`` and ``/api/v1/query_range``), loopback only."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from drillbook.errors import SandboxError
from drillbook.platform.prometheus.config import require_loopback
from drillbook.slo.promql import Series


class PromQLError(SandboxError):
    """Prometheus refused a query (bad PromQL) or could not be reached; the message quotes the expression."""


@dataclass(frozen=True)
class PrometheusClient:
    """Queries one Prometheus; satisfies :class:`drillbook.slo.promql.PromQuery`."""

    url: str
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        require_loopback(urllib.parse.urlsplit(self.url).netloc)

    def query(self, expr: str, at: float) -> list[Series]:
        """Instant query at epoch ``at``: one sample per series."""
        return self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"}, expr)

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
        """Range query from ``start`` to ``end`` (epoch seconds) every ``step_s``."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}"}
        return self._get("/api/v1/query_range", params, expr)

    def _get(self, path: str, params: dict[str, str], expr: str) -> list[Series]:
        address = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(address, timeout=self.timeout_s) as response:
                body: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = _error_text(exc)
            raise PromQLError(f"Prometheus refused {expr!r}: {detail}") from exc
        except (OSError, ValueError) as exc:
            raise PromQLError(f"could not query Prometheus at {self.url} for {expr!r}: {exc}") from exc
        if body.get("status") != "success":
            raise PromQLError(f"Prometheus refused {expr!r}: {body.get('error', body)}")
        return _series(body["data"])


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("error", exc.reason))
    except (OSError, ValueError):
        return str(exc.reason)


def _series(data: dict[str, Any]) -> list[Series]:
    kind = data.get("resultType")
    out: list[Series] = []
    if kind == "scalar":
        t, v = data["result"]
        return [Series(labels={}, samples=((float(t), float(v)),))]
    for item in data.get("result", []):
        raw = item.get("values") or ([item["value"]] if "value" in item else [])
        samples = tuple((float(t), float(v)) for t, v in raw if not math.isnan(float(v)))
        out.append(Series(labels=dict(item.get("metric", {})), samples=samples))
    return out
