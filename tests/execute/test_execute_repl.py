"""Lines typed into a REPL (redis-cli, psql, mongosh) are run in that REPL by the executor, never as shell lines."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from drillbook.execute import StepExecutor
from drillbook.execute.executor import Outcome
from drillbook.execute.repl import Sessions, Unreachable
from drillbook.runbook import parse_text
from drillbook.runbook.model import Command, Effect, Step


def _planned(markdown: str, view: object, workdir: Path) -> list[Outcome]:
    """Every command of the document's first incident as the executor would run it (a dry run runs nothing)."""
    incident = parse_text(markdown).incidents[0]
    executor = StepExecutor(view=view, workdir=workdir)  # type: ignore[arg-type]
    return [outcome for step in incident.steps for outcome in executor.run_step(step, dry_run=True)]


def _session(*lines: str) -> str:
    block = "\n".join(lines)
    return f"# Redis connections exhausted\n\n## Diagnosis\n\n```bash\n{block}\n```\n"


def test_lines_typed_into_redis_cli_run_through_the_opener_with_its_connection_flags(
    view: object, tmp_path: Path
) -> None:
    planned = _planned(
        _session("redis-cli -h 127.0.0.1 -p 6380", "INFO clients", "CLIENT LIST", "exit"), view, tmp_path
    )
    assert [(o.as_written, o.as_run) for o in planned] == [
        ("redis-cli -h 127.0.0.1 -p 6380", "redis-cli -h 127.0.0.1 -p 6380 PING"),
        ("INFO clients", "redis-cli -h 127.0.0.1 -p 6380 INFO clients"),
        ("CLIENT LIST", "redis-cli -h 127.0.0.1 -p 6380 CLIENT LIST"),
    ]


def test_a_typed_redis_line_is_quoted_so_the_shell_never_expands_it(view: object, tmp_path: Path) -> None:
    planned = _planned(_session("redis-cli -p 6380", 'KEYS "session:*"', "GET $(whoami)"), view, tmp_path)
    assert [o.as_run for o in planned[1:]] == [
        "redis-cli -p 6380 KEYS 'session:*'",
        "redis-cli -p 6380 GET '$(whoami)'",
    ]


def test_a_redis_cli_opened_in_a_pod_gets_the_lines_in_that_pod_without_asking_for_a_terminal(
    view: object, tmp_path: Path
) -> None:
    planned = _planned(_session("kubectl -n cache exec -it redis-0 -- redis-cli", "DBSIZE"), view, tmp_path)
    assert [o.as_run for o in planned] == [
        "kubectl -n cache exec -i redis-0 -- redis-cli PING",
        "kubectl -n cache exec -i redis-0 -- redis-cli DBSIZE",
    ]


def test_lines_typed_into_mongosh_run_as_its_eval(view: object, tmp_path: Path) -> None:
    markdown = _session("mongosh mongodb://127.0.0.1:27017/catalogue", "db.products.countDocuments()", "exit")
    planned = _planned(markdown.replace("Redis", "Mongo"), view, tmp_path)
    assert [o.as_run for o in planned] == [
        "mongosh mongodb://127.0.0.1:27017/catalogue --quiet --eval 'db.runCommand({ ping: 1 })'",
        "mongosh mongodb://127.0.0.1:27017/catalogue --quiet --eval 'db.products.countDocuments()'",
    ]


def test_sql_typed_after_sudo_psql_runs_in_that_psql_and_a_restore_from_a_file_opens_nothing(
    view: object, tmp_path: Path
) -> None:
    markdown = _session("sudo -u postgres psql -d app", "SELECT 1;", "\\dt", "\\q", "psql -d app < fix.sql")
    planned = _planned(markdown, view, tmp_path)
    assert [o.as_run for o in planned] == [
        "sudo -u postgres psql -d app -c '\\conninfo'",
        "sudo -u postgres psql -d app -v ON_ERROR_STOP=1 -c 'SELECT 1;'",
        "sudo -u postgres psql -d app -v ON_ERROR_STOP=1 -c '\\dt'",
        "psql -d app < fix.sql",
    ]


def test_a_typed_line_whose_opener_the_step_does_not_show_goes_to_the_bare_client(view: object, tmp_path: Path) -> None:
    typed = Command("INFO memory", 12, "redis", "redis-cli", Effect.READ_ONLY)
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    [outcome] = executor.run_step(Step(1, "Check memory", "", 10, (typed,)), dry_run=True)
    assert (outcome.as_written, outcome.as_run) == ("INFO memory", "redis-cli INFO memory")


_WORDS = st.sampled_from(["redis-cli", "psql", "mongosh", "kubectl", "exec", "-it", "--", "sudo", "-u", "x=1", "'", '"',
                          "bash", "ssh", "oc", "debug", "<DB_HOST>", "<", "|", "-c", "INFO", "SELECT 1;", "\\dt", " ",
                          "\n"])  # fmt: skip


@settings(deadline=None)  # a shared, busy machine: time per example says nothing here
@given(
    st.lists(
        st.tuples(
            st.lists(_WORDS | st.text(max_size=6), max_size=8),
            st.sampled_from(["bash", "sql", "redis", "mongo", "remote-shell"]),
        ),
        max_size=6,
    )
)
def test_any_command_line_gives_a_session_check_a_typed_line_or_nothing(lines: list[tuple[list[str], str]]) -> None:
    sessions = Sessions()
    for words, language in lines:
        command = Command(" ".join(words) or "x", 1, language, "", Effect.UNKNOWN)
        for result in (sessions.open(command), sessions.feed(command)):
            if isinstance(result, Unreachable):
                assert result.reason.startswith("typed into")
            else:
                assert result is None or result.strip()
        if language == "remote-shell":
            assert sessions.feed(command) is not None  # a line typed elsewhere is never run as this machine's own
