"""``--drillbook-jobs``: how many processes, what each one is told, and which exit code the run reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.errors import UsageError
from drillbook.gherkin.jobs import _worst, job_args, parse_jobs


@pytest.mark.parametrize(("text", "cores", "jobs"), [("1", 8, 1), ("3", 2, 3), ("auto", 2, 1), ("AUTO", 8, 4)])
def test_jobs_are_a_number_or_one_per_two_cores(text: str, cores: int, jobs: int) -> None:
    assert parse_jobs(text, cores) == jobs


@pytest.mark.parametrize("text", ["0", "-2", "two", ""])
def test_a_bad_number_of_jobs_says_what_is_allowed(text: str) -> None:
    with pytest.raises(UsageError, match="positive number of processes or 'auto'"):
        parse_jobs(text)


def test_each_job_runs_its_own_shard_into_its_own_run_directory() -> None:
    args = ["features/", "-k", "azora", "--drillbook-jobs", "2", "--drillbook-run-id=mine", "--junitxml=out.xml"]
    second = job_args(args, 2, 2, Path("/r/run/shards"), junit=True)
    assert second == [
        "features/",
        "-k",
        "azora",
        "--drillbook-jobs=1",
        "--drillbook-shard=2/2",
        "--drillbook-reports=/r/run/shards",
        "--drillbook-run-id=shard-2",
        "--junitxml=/r/run/shards/shard-2/junit.xml",
    ]


def test_the_callers_shard_and_reports_are_never_passed_on() -> None:
    args = ["--drillbook-reports", "elsewhere", "--drillbook-shard=1/3", "--drillbook-jobs=4", "-q"]
    assert job_args(args, 1, 4, Path("/s"))[:1] == ["-q"]


def test_a_job_writes_junit_only_when_the_caller_asked_for_it() -> None:
    assert not any(arg.startswith("--junitxml") for arg in job_args(["features/"], 1, 2, Path("/s")))


@pytest.mark.parametrize(
    ("codes", "worst"), [([0, 0], 0), ([0, 1], 1), ([1, 130], 130), ([5, 0], 0), ([5, 5], 5), ([2, 1], 2)]
)
def test_the_run_reports_the_worst_job(codes: list[int], worst: int) -> None:
    assert _worst(codes) == worst
