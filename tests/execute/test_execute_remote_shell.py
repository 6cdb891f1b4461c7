"""Lines typed into a pod's shell run in the pod, one ``kubectl exec -i … -- sh -c`` call each, judged by the policy
as the pod's commands; lines typed into a shell the sandbox cannot replay are reported and never run here."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.execute import StepExecutor, containment, runner
from drillbook.execute.executor import Outcome
from drillbook.execute.repl import Sessions, Unreachable
from drillbook.journal import Decision
from drillbook.runbook import parse_text
from drillbook.runbook.model import Command, Effect, Step
from drillbook.runbook.sessions import REMOTE_SHELL


def _doc(*lines: str) -> str:
    block = "\n".join(lines)
    return f"# API pod disk full\n\n## Fix\n\n```bash\n{block}\n```\n"


def _planned(markdown: str, view: object, workdir: Path) -> list[Outcome]:
    incident = parse_text(markdown).incidents[0]
    executor = StepExecutor(view=view, workdir=workdir)  # type: ignore[arg-type]
    return [outcome for step in incident.steps for outcome in executor.run_step(step, dry_run=True)]


def test_each_line_typed_in_a_pods_shell_runs_as_one_exec_without_a_terminal(view: object, tmp_path: Path) -> None:
    markdown = _doc("kubectl exec -it deploy/api -n prod -- bash", "df -h", "du -sh '/var/log/api'", "exit",
                    "kubectl get pods -n prod")  # fmt: skip
    planned = _planned(markdown, view, tmp_path)
    assert [(o.as_written, o.as_run) for o in planned] == [
        ("kubectl exec -it deploy/api -n prod -- bash", "kubectl exec deploy/api -n prod -- true"),
        ("df -h", "kubectl exec -i deploy/api -n prod -- sh -c 'df -h'"),
        ("du -sh '/var/log/api'", "kubectl exec -i deploy/api -n prod -- sh -c 'du -sh '\"'\"'/var/log/api'\"'\"''"),
        ("kubectl get pods -n prod", "kubectl get pods -n prod"),
    ]
    assert {o.decision for o in planned} == {Decision.RUNS}


def test_psql_typed_in_a_pods_shell_runs_through_that_pod(view: object, tmp_path: Path) -> None:
    markdown = _doc("kubectl -n shop exec -it db-0 -- bash", "psql -U app", "SELECT 1;", "\\q", "exit")
    assert [o.as_run for o in _planned(markdown, view, tmp_path)] == [
        "kubectl -n shop exec db-0 -- true",
        "kubectl -n shop exec -i db-0 -- psql -U app -c '\\conninfo'",
        "kubectl -n shop exec -i db-0 -- psql -U app -v ON_ERROR_STOP=1 -c 'SELECT 1;'",
    ]


def test_a_destructive_or_outward_line_in_a_pods_shell_is_blocked_or_captured_as_on_this_machine(
    view: object, tmp_path: Path
) -> None:
    slack = 'curl -X POST https://hooks.slack.com/services/T000/B000/XXXX -d \'{"text": "api disk full"}\''
    markdown = _doc(
        "kubectl exec -it deploy/api -n prod -- bash", slack, "rm -rf /", "curl -s https://prod.example.com/"
    )
    _, notify, remove, outward = _planned(markdown, view, tmp_path)
    assert notify.decision is Decision.CAPTURED
    assert "api disk full" in notify.output
    assert remove.decision is Decision.BLOCKED
    assert "destructive" in remove.reason
    assert outward.decision is Decision.BLOCKED
    assert "prod.example.com is not in the sandbox" in outward.reason


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every command the executor hands to the runner (the runner itself never starts anything)."""
    commands: list[str] = []

    def record(command: str, **_: object) -> runner.Completed:
        commands.append(command)
        return runner.Completed(0, "", 0.0, 0.0, False)

    monkeypatch.setattr(containment, "_CURRENT", None)
    monkeypatch.setattr(containment, "why_not_contained", lambda: "a unit test: nothing runs")
    monkeypatch.setenv(containment.OPT_IN, "1")
    monkeypatch.setattr(runner, "run", record)
    monkeypatch.setattr(runner, "spawn", lambda *a, **k: pytest.fail(f"spawned {a}"))
    return commands


@pytest.mark.parametrize(
    "opener", ["kubectl exec -it x -- bash", "oc debug node/worker-3", "ssh ops@db-1.acme.internal", None]
)
def test_a_slack_webhook_and_rm_rf_typed_in_any_remote_shell_never_reach_the_network_or_this_host(
    opener: str | None, view: object, tmp_path: Path, ran: list[str]
) -> None:
    slack = 'curl -X POST https://hooks.slack.com/services/T0/B0/x -d \'{"text": "hi"}\''
    typed = [Command(slack, 3, REMOTE_SHELL, "curl", Effect.NOTIFICATION),
             Command("rm -rf /", 4, REMOTE_SHELL, "rm", Effect.DESTRUCTIVE)]  # fmt: skip
    shown = [Command(opener, 2, "bash", opener.split()[0], Effect.NON_TERMINATING)] if opener else []
    executor = StepExecutor(view=view, workdir=tmp_path)  # type: ignore[arg-type]
    executor._prepared = True  # no step-user dirs: nothing runs for real here

    *_, notify, remove = executor.run_step(Step(1, "Clean up", "", 1, (*shown, *typed)))

    assert notify.decision is Decision.CAPTURED
    assert remove.decision is Decision.BLOCKED
    assert not any("hooks.slack.com" in command or "rm -rf" in command for command in ran)
    assert ran == (["kubectl exec x -- true"] if opener and opener.startswith("kubectl") else [])


@pytest.mark.parametrize(
    ("opener", "decision", "why"),
    [
        ("oc debug node/worker-3", None, "`oc debug node/worker-3`"),
        ("ssh ops@db-1.acme.internal", Decision.BLOCKED, "ssh reaches hosts outside the sandbox"),
        ("docker exec -it web sh", Decision.BLOCKED, "docker acts on the host's containers"),
        ("kubectl run probe --rm -it --image=busybox -- sh", Decision.BLOCKED, "only `kubectl exec` shells"),
        (None, Decision.BLOCKED, "whose opener the step does not show"),
    ],
)
def test_lines_typed_in_a_shell_the_sandbox_cannot_replay_are_not_rehearsable_and_say_why(
    opener: str | None, decision: Decision | None, why: str, view: object, tmp_path: Path
) -> None:
    lines = [opener] if opener else ["sh-4.4# true"]
    markdown = _doc(*lines, "df -h /var" if opener else "sh-4.4# df -h /var")
    [*_, typed] = _planned(markdown, view, tmp_path)
    assert typed.as_written == "df -h /var"
    assert typed.as_run == ""
    assert typed.decision is (decision or typed.decision)
    assert typed.decision in (Decision.BLOCKED, Decision.MISSING_TOOL)
    assert typed.reason.startswith("not rehearsable: typed into")
    assert why in typed.reason
    assert "never run on this machine" in typed.reason


def test_a_repl_opened_in_a_shell_the_sandbox_cannot_replay_gets_no_bare_client_on_this_machine(
    view: object, tmp_path: Path
) -> None:
    markdown = _doc("ssh db-1.acme.internal", "sudo -u postgres psql", "SELECT 1;", "\\q", "exit")
    *_, sql = _planned(markdown, view, tmp_path)
    assert (sql.as_written, sql.as_run, sql.decision) == ("SELECT 1;", "", Decision.BLOCKED)
    assert "typed into `sudo -u postgres psql`" in sql.reason


def test_a_workstation_line_ends_the_pods_shell_for_the_lines_after_it() -> None:
    sessions = Sessions()
    assert sessions.open(Command("kubectl exec -it api-0 -- sh", 1, "bash", "kubectl", Effect.NON_TERMINATING))
    assert sessions.feed(Command("ls", 2, REMOTE_SHELL, "ls", Effect.READ_ONLY)) == "kubectl exec -i api-0 -- sh -c ls"
    sessions.open(Command("kubectl get pods", 3, "bash", "kubectl", Effect.READ_ONLY))
    assert isinstance(sessions.feed(Command("ls", 4, REMOTE_SHELL, "ls", Effect.READ_ONLY)), Unreachable)


def test_a_shell_opened_inside_the_pods_shell_keeps_the_lines_after_it_off_the_pod_and_this_machine(
    view: object, tmp_path: Path
) -> None:
    markdown = _doc("kubectl exec -it deploy/bastion -- bash", "ssh db-1.acme.internal", "df -h /var/lib/postgresql")
    _, ssh, typed = _planned(markdown, view, tmp_path)
    assert ssh.decision is Decision.BLOCKED  # kubectl exec … -- sh -c 'ssh db-1…': ssh leaves the sandbox
    assert (typed.as_run, typed.decision) == ("", Decision.BLOCKED)
    assert "typed into the shell `ssh db-1.acme.internal` opens" in typed.reason
