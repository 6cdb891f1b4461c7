"""``drillbook cleanup``: undo what a killed run left behind, from its run directory alone.

It acts only on what the run recorded, and only once it has proven that what it finds is still that:

* a fault on a cluster is reverted only when that cluster is the run's own: its ``kube-system`` namespace has
  the UID the run recorded. Another cluster on the same address (another run took the port) is left alone,
  and cleanup says why;
* a fault whose cluster is gone went with it: nothing is left to revert;
* each sandbox's bring-up undos that its ``bringup.jsonl`` journaled and never ran are replayed, newest first,
  once the run that made it is dead (``drillbook.platform.replay``), each outcome said as it is;
* a local sandbox's state dir (``/tmp/drillbook-…``) is removed when the run that made it is dead, with the
  data its stock postgres pods kept outside it (``/tmp/localkube-pg-…``);
* the run's PostgreSQL snapshots (``RUN_DIR/snapshots``, a copy of each system's provisioned database, azora's
  ~300 MB) are removed once no sandbox of the run is still running: a finished run deletes them itself;
* the step firewalls of dead runs are removed;
* a dead run's background commands (``kubectl port-forward``) still running are ended, found by their marker.

A corrupt journal line is skipped with a warning naming its line; the lines after it still count.
Exit code 0 when nothing the run left is still applied, 1 when something could not be undone.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drillbook.errors import DrillbookError, UsageError
from drillbook.processes import pid_alive


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cleanup`` subcommand."""
    parser = subparsers.add_parser(
        "cleanup",
        help="revert faults and remove state a killed run left behind (reads the run's directory)",
        description="Read RUN_DIR/journal.jsonl and RUN_DIR/sandboxes/*/sandbox.json; undo every fault whose "
        "revert was journaled but never completed, on the run's own cluster only; remove the state dirs of dead "
        "runs. Safe to run twice.",
    )
    parser.add_argument("run_dir", nargs="?", default="reports/latest", help="run directory (default: reports/latest)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Undo pending faults, remove dead state; print what was done and why anything was left."""
    from drillbook.execute.containment import remove_stale_tables
    from drillbook.platform.local.record import SandboxRecord, read_records

    run_dir = Path(args.run_dir)
    journal = run_dir / "journal.jsonl"
    if not journal.is_file():
        raise UsageError(f"no journal at {journal}; pass the run directory of the run to clean up")
    records: list[SandboxRecord] = []
    for path, entry in read_records(run_dir):
        if isinstance(entry, str):
            print(f"warning: {path}: {entry}; its sandbox is left alone")
        else:
            records.append(entry)
    from drillbook.execute.background import reap as reap_background
    from drillbook.platform.docker.reap import reap_docker_sandboxes  # docker sandboxes: containers, temp dirs
    from drillbook.platform.replay import replay_sandboxes  # the bring-up undos each sandbox journaled

    reap_background(run_dir, print)
    failures = _revert_faults(run_dir, journal, records)
    failures += replay_sandboxes(run_dir, print) + reap_docker_sandboxes(run_dir, print)
    for entry in records:
        _remove_state(entry)
    _remove_snapshots(run_dir, records)
    for table in remove_stale_tables():
        print(f"removed the firewall {table} of a dead run")
    return 1 if failures else 0


def _revert_faults(run_dir: Path, journal: Path, records: list[Any]) -> int:
    from drillbook.faults.base import fault_class
    from drillbook.journal import FaultReverted, FaultRevertRecorded

    pending: dict[tuple[str, str], FaultRevertRecorded] = {}
    for event in _events(journal):
        if isinstance(event, FaultRevertRecorded):
            pending[(event.drill, event.fault)] = event
        elif isinstance(event, FaultReverted):
            pending.pop((event.drill, event.fault), None)
    if not pending:
        print(f"{run_dir}: nothing to clean up: every injected fault was reverted")
        return 0
    failures = 0
    for (drill, fault), entry in pending.items():
        refusal = _not_the_runs_cluster(entry.spec, records)
        if refusal is not None:
            print(f"{drill}: {fault}: did nothing: {refusal}")
            continue
        try:
            fault_class(fault).undo_from_spec(entry.spec)
        except (DrillbookError, OSError) as exc:
            failures += 1
            print(f"{drill}: could not revert {fault} ({entry.revert}): {exc}")
        except Exception as exc:  # a client's own error (urllib3, psycopg): say what, go on with the others
            failures += 1
            print(f"{drill}: could not revert {fault} ({entry.revert}): {type(exc).__name__}: {_first_line(exc)}")
        else:
            print(f"{drill}: reverted {fault}: {entry.revert}")
    return failures


def _events(journal: Path) -> list[Any]:
    """The journal's events; a line that does not decode is skipped with a warning naming it."""
    from drillbook.journal.codec import EventDecodeError, UnknownEventType, decode

    events: list[Any] = []
    lines = journal.read_text(encoding="utf-8", errors="replace").split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            events.append(decode(line))
        except (EventDecodeError, UnknownEventType) as exc:
            print(f"warning: {journal}:{index + 1}: skipped a line that is not a journal event ({exc})")
    if not events:
        print(f"warning: {journal}: no journal event in it; only the run's sandbox records are used")
    return events


def _not_the_runs_cluster(spec: Mapping[str, Any], records: list[Any]) -> str | None:
    """Why the fault's cluster must not be touched, or ``None`` when it is the run's own (or has none)."""
    from drillbook.platform.local.record import cluster_uid

    kube_env = spec.get("kube_env")
    if not isinstance(kube_env, Mapping) or not kube_env.get("KUBECONFIG"):
        return None  # not a cluster fault: the fault checks its own identity (pid and marker, DSN)
    kubeconfig = Path(str(kube_env["KUBECONFIG"]))
    entry = next((r for r in records if Path(r.kubeconfig) == kubeconfig), None)
    if entry is None:
        return f"the run recorded no identity for the cluster of {kubeconfig}, so it cannot be told from another one"
    try:
        uid = cluster_uid(entry.server)
    except PermissionError as exc:
        return f"{exc}: the cluster there now is not the run's"
    except ConnectionError:
        return f"its cluster at {entry.server} is gone: nothing is left applied there"
    if uid != entry.cluster_uid:
        return (
            f"the cluster at {entry.server} is another one (kube-system UID {uid}, the run's was {entry.cluster_uid})"
        )
    return None


def _remove_state(entry: Any) -> None:
    state = Path(entry.state_dir)
    if not state.exists():
        return
    if not entry.owns_state_dir():
        print(f"left {state} alone: it is not a drillbook state dir ({entry.state_dir!r} is not /tmp/drillbook-…)")
        return
    if pid_alive(entry.pid):
        print(f"left {state} alone: the run that made it (pid {entry.pid}) is still running")
        return
    from drillbook.platform.local.kube.kubelet.stock import leftover_scratch

    for scratch in leftover_scratch(state):  # a stock postgres image's data lives outside the state dir
        print(f"removed {scratch}, a stock postgres pod's data of a dead run")
    size = _size(state)
    shutil.rmtree(state, ignore_errors=True)
    print(f"removed the state dir {state} of a dead run ({size / 1e6:.0f} MB)")


def _remove_snapshots(run_dir: Path, records: list[Any]) -> None:
    """The run's database snapshots, once every process that recorded a sandbox in it is dead."""
    snapshots = run_dir / "snapshots"
    if not snapshots.is_dir():
        return
    running = sorted({entry.pid for entry in records if pid_alive(entry.pid)})
    if running:
        print(f"left {snapshots} alone: the run that made it (pid {running[0]}) is still running")
        return
    size = _size(snapshots)
    shutil.rmtree(snapshots, ignore_errors=True)
    print(f"removed the run's database snapshots {snapshots} ({size / 1e6:.0f} MB)")


def _size(path: Path) -> int:
    total = 0
    for item in path.rglob("*"):
        with contextlib.suppress(OSError):
            if item.is_file() and not item.is_symlink():
                total += item.stat().st_size
    return total


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "(no message)"
