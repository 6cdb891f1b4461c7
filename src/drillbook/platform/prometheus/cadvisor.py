"""Container CPU and memory as cAdvisor names them, for localkube's pods (``container_memory_working_set_bytes``).

localkube's kubelet meters each container's process group for ``kubectl top`` but serves no cAdvisor endpoint,
so runbook queries such as ``container_memory_working_set_bytes{pod=~"api-.*"}`` would return nothing. This
exporter finds every container process group of one localkube from ``/proc`` — the kubelet gives each container
``HOME=<state>/pods/<namespace>_<pod>_<uid>/<container>/home`` — and serves, labelled ``namespace``, ``pod``,
``container`` as the kubelet's cAdvisor does (every descendant of a container's shim counts, also a server
that put itself in a session of its own; the shim itself does not, as in ``kubectl top``):

* ``container_memory_working_set_bytes`` and ``container_memory_rss``: the group's resident memory;
* ``container_cpu_usage_seconds_total``: user + system CPU of the group, kept monotonic when a process of the
  group exits (the seconds it used stay counted, as in a cgroup's ``cpuacct.usage``).

It runs as a thread of the drillbook process on a loopback port, so it ends with the run; localkube also serves
it itself, on its node's ``/api/v1/nodes/localkube/proxy/metrics/cadvisor`` as a real kubelet does.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from drillbook.platform.prometheus.exporter import MetricsExporter

Identity = tuple[str, str, str]
"""(namespace, pod, container)."""

_MAX_DEPTH = 8
"""How far up from a process its container's shim may be (entrypoint → server → workers)."""
_HOME = re.compile(r"/pods/(?P<ns>[a-z0-9-]+)_(?P<pod>[a-z0-9.-]+)_[^/]*/(?P<container>[a-z0-9-]+)/home/?$")


@dataclass
class _Usage:
    rss: int = 0
    cpu_s: float = 0.0


@dataclass
class ContainerMeter:
    """Reads container usage of one localkube from ``/proc``; keeps CPU counters monotonic."""

    state_dir: Path
    """localkube's state directory: only containers whose HOME lies under it are counted."""
    _known: dict[tuple[int, float], Identity | None] = field(default_factory=dict)
    _cpu_by_pid: dict[int, tuple[Identity, float]] = field(default_factory=dict)
    _retired_cpu: dict[Identity, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> dict[Identity, _Usage]:
        """Usage per container now."""
        with self._lock:
            usage: dict[Identity, _Usage] = {ident: _Usage(cpu_s=cpu) for ident, cpu in self._retired_cpu.items()}
            seen: dict[int, tuple[Identity, float]] = {}
            live: set[tuple[int, float]] = set()
            for proc in psutil.process_iter():
                try:
                    key = (proc.pid, proc.create_time())  # a reused pid is another process
                    live.add(key)
                    ident = self._identity(key, proc)
                    if ident is None:
                        continue
                    with proc.oneshot():
                        rss = int(proc.memory_info().rss)
                        times = proc.cpu_times()
                except (psutil.Error, OSError):
                    continue
                cpu = float(times.user + times.system)
                seen[proc.pid] = (ident, cpu)
                entry = usage.setdefault(ident, _Usage())
                entry.rss += rss
                entry.cpu_s += cpu
            for pid, (ident, cpu) in self._cpu_by_pid.items():
                if pid not in seen:  # exited since the last read: its CPU time stays in the counter
                    self._retired_cpu[ident] = self._retired_cpu.get(ident, 0.0) + cpu
                    usage.setdefault(ident, _Usage()).cpu_s += cpu
            self._cpu_by_pid = seen
            self._known = {key: i for key, i in self._known.items() if key in live}
            return usage

    def _identity(self, key: tuple[int, float], proc: psutil.Process) -> Identity | None:
        if key in self._known:
            return self._known[key]
        ident: Identity | None = None
        with contextlib.suppress(psutil.Error, OSError):
            if not _is_shim(proc.cmdline()):
                ident = self._container_of(proc)
        self._known[key] = ident
        return ident

    def _container_of(self, proc: psutil.Process) -> Identity | None:
        """The container whose shim started ``proc`` (directly or further up): the shim's HOME names it.

        The shim's environment is read rather than the process's own: servers such as redis-server rewrite
        their process title over the environment block, so ``/proc/<pid>/environ`` no longer says HOME.
        """
        current: psutil.Process | None = proc
        for _ in range(_MAX_DEPTH):
            current = current.parent() if current is not None else None
            if current is None:
                return None
            if _is_shim(current.cmdline()):
                home = current.environ().get("HOME", "")
                match = _HOME.search(home)
                if match is None or not Path(home).is_relative_to(self.state_dir):
                    return None
                return (match["ns"], match["pod"], match["container"])
        return None

    def render(self) -> str:
        """The usage in Prometheus text format."""
        usage = self.read()
        lines = [
            "# HELP container_memory_working_set_bytes Current working set of the container in bytes.",
            "# TYPE container_memory_working_set_bytes gauge",
            *(f"container_memory_working_set_bytes{_labels(i)} {u.rss}" for i, u in sorted(usage.items())),
            "# HELP container_memory_rss Size of RSS of the container in bytes.",
            "# TYPE container_memory_rss gauge",
            *(f"container_memory_rss{_labels(i)} {u.rss}" for i, u in sorted(usage.items())),
            "# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed by the container in seconds.",
            "# TYPE container_cpu_usage_seconds_total counter",
            *(f"container_cpu_usage_seconds_total{_labels(i)} {u.cpu_s:.6f}" for i, u in sorted(usage.items())),
        ]
        return "\n".join(lines) + "\n"


def _is_shim(argv: list[str]) -> bool:
    """The kubelet's per-container shim (``python -I -S …/kubelet/shim.py --ppid …``); kubectl top skips it too."""
    return "--ppid" in argv and any(arg.endswith("kubelet/shim.py") for arg in argv)


def _labels(ident: Identity) -> str:
    namespace, pod, container = ident
    return f'{{namespace="{namespace}",pod="{pod}",container="{container}"}}'


class CadvisorExporter(MetricsExporter):
    """Serves :class:`ContainerMeter` on ``http://127.0.0.1:<port>/metrics`` (sampled: see :mod:`.exporter`)."""

    def __init__(self, state_dir: Path, period_s: float = 1.0, extra: Callable[[], str] | None = None) -> None:
        """Serve the containers of the localkube in ``state_dir``; ``extra`` adds more families (restart counts)."""
        self.meter = ContainerMeter(state_dir)
        self.extra = extra
        super().__init__(self._render, name="cadvisor", period_s=period_s)

    def _render(self) -> str:
        return self.meter.render() + (self.extra() if self.extra is not None else "")
