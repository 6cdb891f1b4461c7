"""``--drillbook-jobs N`` (ini ``drillbook_jobs``): run the game day's independent drills in N pytest processes
at once, as one run.

Each process runs one shard (``--drillbook-shard i/N``, the stable round-robin slice CI matrices use) into its own
run directory under ``<reports>/<run>/shards/``; when all have ended, their journals and JUnit files are merged
into ``<reports>/<run>/`` (``drillbook report --merge``) and the reports rendered there. Every drill has its own
sandbox either way: localkube takes its loopback addresses under a lock shared by every process
(``kube/ips.py``) and every server picks a free port, so parallel sandboxes do not collide. Each shard
keeps its own control-run cache and database snapshots, so a drill's verdict does not depend on which process
ran first.

The default is 1: a drill keeps about two cores busy (the traffic generator, the application's replicas and its
datastores), and a drill starved of CPU shows latency the system does not have, so its baseline or its recovery
is judged on drillbook's load rather than on the runbook. ``auto`` runs one drill per two cores (1 on a 2-core
machine). The option is ignored inside a job (the processes it starts get ``--drillbook-jobs 1``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from drillbook.errors import UsageError

if TYPE_CHECKING:
    from drillbook.platform.docker import DockerEngine
from drillbook.gherkin.options import setting

#: Options a job sets itself, so the caller's values are dropped from the command line it passes on.
_OWN = (
    "--drillbook-jobs",
    "--drillbook-shard",
    "--drillbook-run-id",
    "--drillbook-reports",
    "--junitxml",
    "--junit-xml",
)

JUNIT_NAME = "junit.xml"
"""Each job's JUnit file, in its shard's run directory (merged like ``drillbook report --merge`` does)."""


def parse_jobs(text: str, cores: int | None = None) -> int:
    """``"3"`` → 3; ``"auto"`` → one job per two cores (at least 1). A bad value is a usage error."""
    value = text.strip().lower()
    if value == "auto":
        return max(1, (cores if cores is not None else os.cpu_count() or 1) // 2)
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"--drillbook-jobs must be a positive number of processes or 'auto', got {text!r}")
    return int(value)


def job_args(args: Sequence[str], index: int, jobs: int, shards_root: Path, *, junit: bool = False) -> list[str]:
    """The pytest arguments of job ``index`` (1-based) of ``jobs``: the caller's, minus what the job sets itself
    (its shard, its run directory, and, when the caller asked for JUnit, its own JUnit file there)."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in _OWN:
            skip = True  # "--drillbook-jobs 2": the value follows
            continue
        if arg.startswith(tuple(f"{option}=" for option in _OWN)):
            continue
        kept.append(arg)
    return [
        *kept,
        "--drillbook-jobs=1",
        f"--drillbook-shard={index}/{jobs}",
        f"--drillbook-reports={shards_root}",
        f"--drillbook-run-id=shard-{index}",
        *([f"--junitxml={shards_root / f'shard-{index}' / JUNIT_NAME}"] if junit else []),
    ]


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """With ``--drillbook-jobs N`` > 1, run N shard processes instead of this session, then merge their runs."""
    try:
        jobs = parse_jobs(setting(config, "--drillbook-jobs") or "1")
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if jobs <= 1 or config.getoption("help") or config.getoption("collectonly"):
        return None
    if setting(config, "--drillbook-shard"):
        raise pytest.UsageError("give --drillbook-jobs or --drillbook-shard, not both: jobs split the run into shards")
    return run_jobs(config, jobs)


def run_jobs(config: pytest.Config, jobs: int) -> int:
    """Start the jobs, wait for all of them, merge their run directories; the worst exit code wins."""
    root = Path(str(config.rootpath))
    reports = (root / str(setting(config, "--drillbook-reports"))).resolve()
    run_id = setting(config, "--drillbook-run-id") or time.strftime("%Y%m%d-%H%M%S") + f"-j{jobs}"
    run_dir = reports / run_id
    engine = _shared_engine(setting(config, "--drillbook-platform"))
    try:
        return _run_and_merge(config, jobs, reports, run_dir)
    finally:
        if engine is not None:
            engine.stop_if_ours()


def _shared_engine(platform: str | None) -> DockerEngine | None:
    """On docker, the engine every job shares, started here when none runs (then stopped once all have ended, never
    by the first job to finish); ``None`` when this run starts none."""
    if platform != "docker":
        return None
    from drillbook.errors import SandboxError
    from drillbook.platform.docker import DockerEngine

    engine = DockerEngine()
    try:
        started = engine.ensure().started_now
    except SandboxError:
        return None  # each job says what is missing, with its drills
    return engine if started else None


def _run_and_merge(config: pytest.Config, jobs: int, reports: Path, run_dir: Path) -> int:
    from drillbook.cli.report import merge_runs
    from drillbook.report import render_reports, update_latest

    shards_root = run_dir / "shards"
    shards_root.mkdir(parents=True, exist_ok=True)
    args = list(config.invocation_params.args)
    junit = config.getoption("xmlpath", None)
    print(f"drillbook: {jobs} jobs, one shard each; shard runs in {shards_root}", flush=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", *job_args(args, index, jobs, shards_root, junit=bool(junit))],
            cwd=config.invocation_params.dir,
        )
        for index in range(1, jobs + 1)
    ]
    codes: list[int] = []
    for proc in procs:
        while True:
            try:
                codes.append(proc.wait())
                break
            except KeyboardInterrupt:
                # The jobs got the same Ctrl-C (one process group): wait while they revert their faults.
                print("drillbook: waiting for the jobs to revert their faults and write their reports", flush=True)
    shards = [shards_root / f"shard-{index}" for index in range(1, jobs + 1)]
    ran = [shard for shard in shards if (shard / "journal.jsonl").is_file()]
    if ran:
        merged = merge_runs(ran, run_dir)
        paths = render_reports(merged)
        update_latest(reports, merged)
        print(f"drillbook: merged {len(ran)} shards into {merged}; reports: {paths.html}", flush=True)
        if junit and (merged / JUNIT_NAME).is_file():
            shutil.copyfile(merged / JUNIT_NAME, Path(str(config.invocation_params.dir)) / str(junit))
    return _worst(codes)


def _worst(codes: Sequence[int]) -> int:
    """An interrupt (130/143) first, then any failure, else 0 (5, "no tests", only when every job had none)."""
    for code in codes:
        if code >= 128:
            return code
    failures = [code for code in codes if code not in (0, 5)]
    if failures:
        return max(failures)
    return 5 if codes and all(code == 5 for code in codes) else 0
