"""The policy judges any line without raising: a crash while judging would stop a drill mid-incident."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drillbook.execute import judge
from drillbook.execute.netguard import targets
from drillbook.journal import Decision

pytestmark = pytest.mark.slow

TOOLS = [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]
WORDS = st.sampled_from(
    ["curl", "kubectl", "exec", "--", "psql", "-h", "bash", "-c", "eval", "watch", "sudo", "-u", "aws", "<<EOF", "EOF",
     "$(", ")", "`", "'", '"', "|", "&&", "||", ";", "&", "\n", "(", "{", "}", ">", "2>&1", "/etc/x", "host=",
     "http://", "127.0.0.1", "example.com", ":", "@", "[::1]", "--resolve", "-x", "#", "\\", "=", "x", "-", "timeout"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, max_size=14).map(" ".join))
def test_any_line_is_judged_without_raising(line: str) -> None:
    assert judge(line, (), TOOLS).decision in set(Decision)


@settings(max_examples=100, deadline=None)
@given(st.lists(WORDS, max_size=10))
def test_the_net_guard_reads_any_arguments_without_raising(args: list[str]) -> None:
    assert isinstance(targets("curl", args), list)
