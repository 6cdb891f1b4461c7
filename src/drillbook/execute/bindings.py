"""Bindings: how a runbook's world maps onto the sandbox (``scenarios/<system>/bindings.yaml``).

```yaml
urls:            # a URL prefix the runbook uses -> a Service of the sandbox
  https://api.zephyr.example.com: {service: zephyr-backend, namespace: default}
placeholders:    # text as written -> what it stands for
  <pod-name>:    {pod: app=api-gateway, namespace: production}   # a live pod chosen by selector
  <DB_HOST>:     {service_host: postgres, namespace: default}     # the Service's loopback address
  <DB_USER>:     {value: zephyr}                                  # a literal
hosts:           # host names the runbook contacts (in URLs, -h/--host, host=) -> a Service
  postgres:      {service: postgres, namespace: default, port: 5432}
unbound:         # URL prefixes the sandbox deliberately does not provide -> why (the policy blocks them)
  http://localhost:9090: Prometheus is not part of the sandbox
```

Built-in bindings come on top of the file, added by the sandbox rather than written per scenario: a sandbox
that runs Prometheus binds every Prometheus URL runbooks use (``http://localhost:9090``, ``http://prometheus:9090``,
``https://prometheus.example.com`` …) to it, with
:func:`drillbook.platform.prometheus.bindings.with_prometheus` in ``platform/executor_view.step_runner_for``; the
file's own URL bindings win, and its ``unbound`` entries for those URLs are dropped.

Decoded strictly (unknown keys are errors naming the file, the line and the allowed keys). Values are
resolved at run time against a :class:`SandboxView`; anything not bound stays as written, and the policy
then blocks the command and says which name was unbound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import yaml

from drillbook.errors import DrillbookError, ScenarioError
from drillbook.execute.contacts import is_loopback

_TARGET_KEYS = {"service", "namespace", "port", "pod", "service_host", "service_port", "value", "env"}


class SandboxView(Protocol):
    """What the executor may ask of the sandbox."""

    def service_address(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        """A loopback host and port reaching the Service."""

    def pod_name(self, namespace: str, selector: str) -> str:
        """A live pod matching the selector."""

    def env(self) -> dict[str, str]:
        """Environment for commands: KUBECONFIG, PG*, REDIS_*…"""

    def tool_dirs(self) -> list[Path]:
        """Directories holding the real tools."""


@dataclass(frozen=True)
class Target:
    """What one bound name stands for; exactly one kind is set."""

    line: int
    namespace: str = "default"
    service: str | None = None
    port: int | None = None
    pod: str | None = None
    service_host: str | None = None
    service_port: str | None = None
    value: str | None = None
    env: str | None = None


@dataclass(frozen=True)
class Bindings:
    """A system's bindings, as read from its file."""

    path: Path | None = None
    urls: Mapping[str, Target] = field(default_factory=dict)
    placeholders: Mapping[str, Target] = field(default_factory=dict)
    hosts: Mapping[str, Target] = field(default_factory=dict)
    unbound: Mapping[str, str] = field(default_factory=dict)
    """URL prefixes the runbook uses that the sandbox does not provide, with the reason."""

    @classmethod
    def load(cls, path: Path) -> Bindings:
        """Read and validate a bindings file; a missing file means no bindings."""
        if not path.is_file():
            return cls(path=None)
        try:
            node = yaml.compose(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ScenarioError(
                f"not valid YAML: {exc}", path=path, line=None if mark is None else mark.line + 1
            ) from exc
        if node is None:
            return cls(path=path)
        sections = _mapping(node, path, {"urls", "placeholders", "hosts", "unbound"})
        bindings = cls(
            path=path,
            urls={k: _target(v, path) for k, v in _items(sections.get("urls"), path)},
            placeholders={k: _target(v, path) for k, v in _items(sections.get("placeholders"), path)},
            hosts={k: _target(v, path) for k, v in _items(sections.get("hosts"), path)},
            unbound={k: _reason(v, path) for k, v in _items(sections.get("unbound"), path)},
        )
        bindings.refuse_outside_hosts()
        return bindings

    def refuse_outside_hosts(self) -> None:
        """A literal ``value`` that names a host outside loopback is an error (file:line): bindings map a runbook
        onto the sandbox, never onto another system.

        Raises:
            ScenarioError: a URL or host binding, or a host-like placeholder, names a non-loopback host.
        """
        for section, entries in (("urls", self.urls), ("hosts", self.hosts), ("placeholders", self.placeholders)):
            for name, target in entries.items():
                host = _literal_host(section, name, target.value)
                if host is not None and not is_loopback(host):
                    raise ScenarioError(
                        f"{section}: {name!r} is bound to {target.value!r}, whose host {host} is outside the "
                        "sandbox; bind it to a service of the sandbox (service:, service_host:) or a loopback "
                        "address",
                        path=self.path,
                        line=target.line,
                    )


_HOSTLIKE_NAME = re.compile(r"host|addr|server|endpoint|url|uri|dsn", re.IGNORECASE)
_HOSTLIKE_VALUE = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z0-9-]+(?::\d+)?$|^\[?[0-9a-f:.]+\]?(?::\d+)?$", re.IGNORECASE)


def _literal_host(section: str, name: str, value: str | None) -> str | None:
    """The host a literal binding value names, or ``None`` when it names none."""
    if value is None or not value.strip():
        return None
    text = value.strip().strip("'\"")
    if "://" in text:
        return urlsplit(text).hostname or text
    hostlike = section in {"urls", "hosts"} or _HOSTLIKE_NAME.search(name) is not None
    if hostlike and _HOSTLIKE_VALUE.match(text):
        return text.rsplit(":", 1)[0].strip("[]") if text.count(":") == 1 or text.startswith("[") else text
    return None


def _mapping(node: yaml.Node, path: Path, allowed: set[str] | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        seen = "a list" if isinstance(node, yaml.SequenceNode) else f"{node.value!r}"
        raise ScenarioError(
            f"expected a mapping (name: binding), got {seen}; see the format in drillbook/execute/bindings.py",
            path=path,
            line=node.start_mark.line + 1,
        )
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = str(key.value)
        if name in out:
            raise ScenarioError(f"{name!r} is bound twice; keep one binding", path=path, line=key.start_mark.line + 1)
        if allowed is not None and name not in allowed:
            raise ScenarioError(
                f"unknown key {name!r}; allowed keys: {', '.join(sorted(allowed))}",
                path=path,
                line=key.start_mark.line + 1,
            )
        out[name] = value
    return out


def _items(node: yaml.Node | None, path: Path) -> list[tuple[str, yaml.Node]]:
    return [] if node is None else list(_mapping(node, path, None).items())


def _target(node: yaml.Node, path: Path) -> Target:
    line = node.start_mark.line + 1
    raw = {k: yaml.safe_load(yaml.serialize(v)) for k, v in _mapping(node, path, _TARGET_KEYS).items()}
    kinds = [k for k in ("service", "pod", "service_host", "service_port", "value", "env") if k in raw]
    if len(kinds) != 1:
        raise ScenarioError(
            "each binding needs exactly one of service, pod, service_host, service_port, value, env; "
            f"got {', '.join(kinds) or 'none'}",
            path=path,
            line=line,
        )
    port = raw.get("port")
    if port is not None and not isinstance(port, int):
        raise ScenarioError(f"'port' must be an integer, got {port!r}", path=path, line=line)
    return Target(
        line=line,
        namespace=str(raw.get("namespace", "default")),
        service=_str(raw.get("service")),
        port=port,
        pod=_str(raw.get("pod")),
        service_host=_str(raw.get("service_host")),
        service_port=_str(raw.get("service_port")),
        value=_str(raw.get("value")),
        env=_str(raw.get("env")),
    )


def _reason(node: yaml.Node, path: Path) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise ScenarioError(
            "an unbound URL needs a reason, e.g. 'Prometheus is not part of the sandbox'",
            path=path,
            line=node.start_mark.line + 1,
        )
    return str(node.value)


def _str(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Rewrite:
    """A command as written and as it will run."""

    as_written: str
    as_run: str
    unresolved: tuple[str, ...]
    """Placeholders left as written, because nothing binds them (or binding them failed: see ``problems``)."""
    problems: tuple[str, ...] = ()


class Resolver:
    """Applies bindings to command text against a live sandbox."""

    def __init__(self, bindings: Bindings, view: SandboxView) -> None:
        self.bindings = bindings
        self.view = view

    def resolve(self, target: Target) -> str:
        """The value a binding stands for right now."""
        if target.value is not None:
            return target.value
        if target.env is not None:
            return self.view.env().get(target.env, "")
        if target.pod is not None:
            return self.view.pod_name(target.namespace, target.pod)
        if target.service_host is not None:
            return self.view.service_address(target.namespace, target.service_host)[0]
        if target.service_port is not None:
            return str(self.view.service_address(target.namespace, target.service_port)[1])
        assert target.service is not None
        host, port = self.view.service_address(target.namespace, target.service, target.port)
        return f"http://{host}:{port}"

    def rewrite(self, text: str, placeholders: tuple[str, ...]) -> Rewrite:
        """Apply URL, host and placeholder bindings; report what stays unbound.

        A URL prefix is replaced only where it ends (``https://api.example.com`` never rewrites
        ``https://api.example.com.evil.net``); a bound host is replaced in URLs (``://host``, ``@host``) and
        after the host flags of database clients (``-h host``, ``--host=host``, ``host=host``). ``$VAR``
        placeholders stay in the text: :meth:`environment` provides them.
        """
        result = text
        problems: list[str] = []
        for prefix, target in sorted(self.bindings.urls.items(), key=lambda kv: -len(kv[0])):
            pattern = re.compile(re.escape(prefix.rstrip("/")) + r"(?=[/?#'\"\s)]|$)")
            if pattern.search(result):
                try:
                    result = pattern.sub(_literal(self.resolve(target)), result)
                except DrillbookError as exc:
                    problems.append(f"{prefix}: {exc}")
        for host, target in self.bindings.hosts.items():
            name, end = re.escape(host), r"(?=[/?'\"\s,]|$)"
            in_url = re.compile(rf"(?P<pre>://|@){name}(?::\d+)?{end}")
            in_flag = re.compile(rf"(?P<pre>(?:^|\s)-h\s?|--host[= ]|(?<![\w-])host=){name}{end}")
            if in_url.search(result) or in_flag.search(result):
                try:
                    address = self.resolve(target).split("://", 1)[-1]
                    result = in_url.sub(r"\g<pre>" + _literal(address), result)
                    result = in_flag.sub(r"\g<pre>" + _literal(address.rsplit(":", 1)[0]), result)
                except DrillbookError as exc:
                    problems.append(f"{host}: {exc}")
        unresolved: list[str] = []
        for prefix, reason in self.bindings.unbound.items():
            if re.search(re.escape(prefix.rstrip("/")) + r"(?=[/?#'\"\s)]|$)", result):
                unresolved.append(f"{prefix} ({reason})")
        named = [p for p in self.bindings.placeholders if p in text and p not in placeholders]
        for placeholder in (*placeholders, *named):
            if placeholder.startswith("$"):  # $VARS stay as written; the shell environment provides them
                continue
            bound = self.bindings.placeholders.get(placeholder)
            if bound is None:
                unresolved.append(placeholder)
                continue
            try:
                result = result.replace(placeholder, self.resolve(bound))
            except DrillbookError as exc:
                problems.append(f"{placeholder}: {exc}")
                unresolved.append(placeholder)
        return Rewrite(text, result, tuple(unresolved), tuple(problems))

    def environment(self) -> dict[str, str]:
        """Variables for bound ``$VAR`` / ``${VAR}`` placeholders (a binding that cannot resolve is left out)."""
        env: dict[str, str] = {}
        for placeholder, target in self.bindings.placeholders.items():
            match = re.fullmatch(r"\$\{?([A-Za-z_]\w*)\}?", placeholder)
            if match is None:
                continue
            try:
                env[match.group(1)] = self.resolve(target)
            except DrillbookError:
                continue  # the command then sees the variable unset, and fails the way it would in production
        return env


def _literal(text: str) -> str:
    """``text`` as a ``re.sub`` replacement that means itself."""
    return text.replace("\\", "\\\\")
