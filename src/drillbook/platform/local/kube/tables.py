"""Server-side ``Table`` rendering (what ``kubectl get`` prints), from the per-kind printers."""

from __future__ import annotations

from typing import Any

from drillbook.platform.local.kube.podprint import human_duration, pod_status_reason
from drillbook.platform.local.kube.printers import GENERIC, PRINTERS, since

JsonObj = dict[str, Any]
__all__ = ["human_duration", "pod_status_reason", "since", "table"]


def _row_object(obj: JsonObj, include: str) -> JsonObj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(kind: str, objects: list[JsonObj], *, resource_version: str, include: str = "Metadata") -> JsonObj:
    """Render objects of one kind as a ``meta.k8s.io/v1`` Table."""
    columns, row_of = PRINTERS.get(kind, GENERIC)
    rows = []
    for obj in objects:
        row: JsonObj = {"cells": row_of(obj)}
        embedded = _row_object(obj, include)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": type_,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": prio,
            }
            for name, type_, prio in columns
        ],
        "rows": rows,
    }
