"""Label and field selectors as the API server parses them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from drillbook.platform.local.kube.status import bad_request

JsonObj = dict[str, Any]
Predicate = Callable[[JsonObj], bool]

_SET_RE = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        terms.append(cur)
    return [t.strip() for t in terms if t.strip()]


def label_predicate(selector: str | None) -> Callable[[dict[str, str]], bool]:
    """Compile ``app=x,tier!=db,env in (a,b),!legacy`` into a predicate over a labels map."""
    if not selector:
        return lambda _labels: True
    checks: list[Callable[[dict[str, str]], bool]] = []
    for term in _split_terms(selector):
        checks.append(_label_term(term))
    return lambda labels: all(check(labels) for check in checks)


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    for op in ("!=", "==", "="):
        if op in term:
            key, value = (p.strip() for p in term.split(op, 1))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    match = _SET_RE.match(term)
    if not match:
        raise bad_request(f'unable to parse requirement: found "{term}", expected: key, !key, =, !=, in or notin')
    negate, key, op, values = match.groups()
    if op:
        allowed = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in allowed
        return lambda labels: labels.get(key) not in allowed
    if negate:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def selector_from_match(spec_selector: JsonObj | None) -> Callable[[dict[str, str]], bool]:
    """Compile a ``LabelSelector`` object (matchLabels + matchExpressions); empty selects nothing."""
    if not spec_selector:
        return lambda _labels: False
    match_labels: dict[str, str] = spec_selector.get("matchLabels") or {}
    exprs: list[JsonObj] = spec_selector.get("matchExpressions") or []

    def check(labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in match_labels.items()):
            return False
        for expr in exprs:
            key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and key in labels and labels[key] in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return bool(match_labels or exprs)

    return check


def selector_string(spec_selector: JsonObj | None) -> str:
    """Render a ``LabelSelector`` the way kubectl prints it (``app=x,tier in (a,b)``)."""
    if not spec_selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((spec_selector.get("matchLabels") or {}).items())]
    for expr in spec_selector.get("matchExpressions") or []:
        op = expr["operator"]
        if op in ("In", "NotIn"):
            parts.append(f"{expr['key']} {op.lower()} ({','.join(sorted(expr.get('values') or []))})")
        elif op == "Exists":
            parts.append(expr["key"])
        else:
            parts.append(f"!{expr['key']}")
    return ",".join(parts)


def field_predicate(selector: str | None) -> Predicate:
    """Compile ``metadata.name=x,status.phase!=Failed`` over dotted paths of an object."""
    if not selector:
        return lambda _obj: True
    checks: list[Predicate] = []
    for term in _split_terms(selector):
        for op in ("!=", "==", "="):
            if op in term:
                path, value = (p.strip() for p in term.split(op, 1))
                checks.append(_field_check(path, value, negate=op == "!="))
                break
        else:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")
    return lambda obj: all(check(obj) for check in checks)


def _field_check(path: str, value: str, *, negate: bool) -> Predicate:
    parts = path.split(".")

    def check(obj: JsonObj) -> bool:
        cur: Any = obj
        for part in parts:
            cur = cur.get(part) if isinstance(cur, dict) else None
        text = "" if cur is None else str(cur)
        if path == "metadata.namespace" and cur is None:
            text = ""
        return (text != value) if negate else (text == value)

    return check
