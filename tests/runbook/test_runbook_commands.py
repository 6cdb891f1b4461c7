"""Code blocks become commands with the tool, kubectl verb, placeholders and effect an executor needs."""

from __future__ import annotations

import pytest

from drillbook.runbook import Effect
from drillbook.runbook.commands import commands_from_code, normalise_language, placeholders


def one(code: str, language: str = "bash") -> tuple[str, Effect]:
    (command,) = commands_from_code(code, language, 1)
    return command.tool, command.effect


@pytest.mark.parametrize(
    ("code", "tool", "effect"),
    [
        ("kubectl get pods -n prod", "kubectl", Effect.READ_ONLY),
        ("kubectl get pods -w", "kubectl", Effect.NON_TERMINATING),
        ("kubectl logs -f deploy/api | grep error", "kubectl", Effect.NON_TERMINATING),
        ("kubectl scale deployment api --replicas=5", "kubectl", Effect.MUTATING),
        ("kubectl rollout undo deployment/api", "kubectl", Effect.MUTATING),
        ("kubectl rollout status deployment/api", "kubectl", Effect.READ_ONLY),
        ("kubectl delete namespace prod", "kubectl", Effect.DESTRUCTIVE),
        ("kubectl delete pvc data-0", "kubectl", Effect.DESTRUCTIVE),
        ("kubectl delete pod api-0", "kubectl", Effect.DESTRUCTIVE),
        ("kubectl apply -f x.yaml --dry-run=client", "kubectl", Effect.READ_ONLY),
        ('psql -c "SELECT 1"', "psql", Effect.READ_ONLY),
        ('psql -c "ALTER SYSTEM SET max_connections = 200"', "psql", Effect.MUTATING),
        ('psql -c "DROP TABLE users"', "psql", Effect.DESTRUCTIVE),
        ("redis-cli INFO memory", "redis-cli", Effect.READ_ONLY),
        ("redis-cli FLUSHALL", "redis-cli", Effect.DESTRUCTIVE),
        ("redis-cli monitor", "redis-cli", Effect.NON_TERMINATING),
        ("curl -s http://api/health", "curl", Effect.READ_ONLY),
        ("curl -X POST http://api/polls -d '{}'", "curl", Effect.MUTATING),
        ("curl -X POST https://hooks.slack.com/services/T/B/x -d '{}'", "curl", Effect.NOTIFICATION),
        ("aws s3 ls s3://bucket", "aws", Effect.EXTERNAL),
        ("aws s3 rm s3://bucket/key", "aws", Effect.DESTRUCTIVE),
        ("ssh bastion uptime", "ssh", Effect.EXTERNAL),
        ("rm -rf /tmp/restore", "rm", Effect.DESTRUCTIVE),
        ("watch kubectl get pods", "watch", Effect.NON_TERMINATING),
        ("top", "top", Effect.NON_TERMINATING),
        ("top -b -n 1", "top", Effect.READ_ONLY),
        ("tail -f /var/log/app.log", "tail", Effect.NON_TERMINATING),
        ("iostat -x 1", "iostat", Effect.NON_TERMINATING),
        ("iostat -x 1 3", "iostat", Effect.READ_ONLY),
        ("journalctl -u redis -f", "journalctl", Effect.NON_TERMINATING),
        ("journalctl --vacuum-time=2d", "journalctl", Effect.DESTRUCTIVE),
        ("journalctl --rotate", "journalctl", Effect.MUTATING),
        ("journalctl --disk-usage", "journalctl", Effect.READ_ONLY),
        ("timeout 30 kubectl logs -f deploy/api", "timeout", Effect.READ_ONLY),
        ("kubectl get pods && kubectl delete ns prod", "kubectl", Effect.DESTRUCTIVE),
        ("sudo systemctl restart redis", "systemctl", Effect.MUTATING),
        ("helm uninstall api", "helm", Effect.DESTRUCTIVE),
    ],
)
def test_command_effect_is_the_worst_of_its_parts(code: str, tool: str, effect: Effect) -> None:
    assert one(code) == (tool, effect)


def test_kubectl_verb_and_resource_skip_flags_and_names() -> None:
    (command,) = commands_from_code("kubectl -n prod rollout restart deployment/api", "bash", 1)
    assert (command.verb, command.resource) == ("rollout", "deployment")
    (logs,) = commands_from_code("kubectl logs <pod-name> -n prod", "bash", 1)
    assert (logs.verb, logs.resource) == ("logs", "pod")


def test_backslash_continuations_are_joined_and_keep_the_first_line() -> None:
    (command,) = commands_from_code("kubectl set env deploy/api \\\n  POOL=50 \\\n  -n prod\n", "bash", 10)
    assert (command.text, command.line) == ("kubectl set env deploy/api POOL=50 -n prod", 10)


def test_console_prompts_are_stripped_and_output_dropped() -> None:
    code = "$ kubectl get pods\nNAME   READY\napi-0  1/1\nuser@host:~$ redis-cli ping\nPONG\n"
    commands = commands_from_code(code, normalise_language("console"), 1)
    assert [(c.text, c.line) for c in commands] == [("kubectl get pods", 1), ("redis-cli ping", 4)]


def test_sql_block_is_one_command_per_statement_across_lines() -> None:
    code = "-- count\nSELECT count(*)\nFROM pg_stat_activity;\nCREATE INDEX i ON t (c);\n"
    commands = commands_from_code(code, "sql", 5)
    assert [(c.text, c.line, c.effect) for c in commands] == [
        ("SELECT count(*) FROM pg_stat_activity;", 6, Effect.READ_ONLY),
        ("CREATE INDEX i ON t (c);", 8, Effect.MUTATING),
    ]
    assert {c.tool for c in commands} == {"sql"}


def test_heredoc_stays_with_its_command() -> None:
    code = "kubectl apply -f - <<EOF\napiVersion: v1\nkind: Namespace\nEOF\nkubectl get ns\n"
    commands = commands_from_code(code, "bash", 1)
    assert len(commands) == 2
    assert commands[0].text.endswith("EOF")
    assert commands[0].verb == "apply"


def test_multiline_quoted_body_stays_with_curl() -> None:
    code = 'curl -X POST https://events.pagerduty.com/v2/enqueue -d \'{\n  "routing_key": "YOUR_ROUTING_KEY"\n}\'\n'
    (command,) = commands_from_code(code, "bash", 1)
    assert command.effect is Effect.NOTIFICATION
    assert command.placeholders == ("YOUR_ROUTING_KEY",)


def test_capitalised_lines_are_prose_actions() -> None:
    (command,) = commands_from_code("Restart Redis service", "bash", 1)
    assert (command.language, command.effect) == ("prose", Effect.MANUAL)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("kubectl logs <pod-name>", ("<pod-name>",)),
        ("psql $DATABASE_URL -h ${DB_HOST}", ("${DB_HOST}", "$DATABASE_URL")),
        ("kill -9 [PID]", ("[PID]",)),
        ("kubectl delete pod {pod-name}", ("{pod-name}",)),
        ("curl -H 'Authorization: Bearer sk-xxxx'", ("sk-xxxx",)),
        ("awk '{print $NF}'", ()),
        ("cat a < b", ()),
    ],
)
def test_placeholders_are_found_in_the_forms_runbooks_use(text: str, found: tuple[str, ...]) -> None:
    assert sorted(placeholders(text)) == sorted(found)


@pytest.mark.parametrize(
    ("info", "language"), [("console", "bash"), ("sh", "bash"), ("shell", "bash"), ("SQL", "sql"), ("yml", "yaml")]
)
def test_fence_languages_are_normalised(info: str, language: str) -> None:
    assert normalise_language(info) == language


def test_yaml_and_json_blocks_are_not_commands() -> None:
    assert commands_from_code("apiVersion: v1\nkind: Pod\n", "yaml", 1) == []


def test_option_comments_label_the_commands_under_them() -> None:
    code = (
        "kubectl get pods\n# Option 1: restart\nkubectl rollout restart deploy/a\n"
        "# option 2 - undo\nkubectl rollout undo deploy/a\n"
    )
    commands = commands_from_code(code, "bash", 1)
    assert [c.branch for c in commands] == [None, "Option 1", "Option 2"]


def test_an_or_comment_makes_the_commands_around_it_alternatives() -> None:
    code = "kubectl rollout undo deploy/api\n# Or restart\nkubectl rollout restart deploy/api\n"
    assert [c.branch for c in commands_from_code(code, "bash", 1)] == ["Option 1", "Or restart"]


def test_or_alternatives_are_labelled_by_their_headings_and_end_at_the_next_heading() -> None:
    code = (
        "kubectl get pods\n# Scale up\nkubectl scale deploy/api --replicas=6\n\n"
        "# or restart every pod\nkubectl rollout restart deploy/api\n"
        "# Alternatively: roll back\nkubectl rollout undo deploy/api\n"
        "# Verify\nkubectl rollout status deploy/api\n"
    )
    assert [c.branch for c in commands_from_code(code, "bash", 1)] == [
        None,
        "Scale up",
        "Or restart every pod",
        "Alternatively: roll back",
        None,
    ]


def test_an_or_whose_other_side_is_only_a_comment_offers_no_branch() -> None:
    code = "-- Raise the pool size in the app\n-- Or end idle sessions\nSELECT pg_terminate_backend(pid) FROM x;\n"
    assert [c.branch for c in commands_from_code(code, "sql", 1)] == [None]
    code = "kubectl logs -f deploy/api\n# Or via Loki\n# Filter by: level=error\n"
    assert [c.branch for c in commands_from_code(code, "bash", 1)] == [None]


def test_words_that_merely_start_like_option_are_no_branch_heads() -> None:
    code = "# Optional: clear the cache\nredis-cli FLUSHDB\n# Alternatively use the admin UI\n"
    assert [c.branch for c in commands_from_code(code, "bash", 1)] == [None]


def test_variables_the_script_sets_itself_are_not_placeholders() -> None:
    code = "BACKUP=/tmp/b.gz\nfor pod in $(kubectl get pods -o name); do\nkubectl logs $pod\ndone\nls $BACKUP $TARGET\n"
    commands = commands_from_code(code, "bash", 1)
    assert [c.placeholders for c in commands] == [(), (), ("$TARGET",)]  # the for loop is one command
