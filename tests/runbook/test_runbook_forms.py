"""The forms teams write runbooks in (issue 12): structure, prompts, sessions, block kinds, targets, effects."""

from __future__ import annotations

from pathlib import Path

import pytest

from drillbook.runbook import Effect, TimeTargetKind, parse_runbook, parse_text
from drillbook.runbook.commands import commands_from_code, reads_as_command
from drillbook.runbook.lint import lint_runbook


def texts(markdown: str) -> list[str]:
    return [
        c.text for i in parse_text(markdown).incidents for s in i.steps for c in s.commands if c.language != "prose"
    ]


def test_a_document_about_one_alert_is_one_incident_whatever_its_sub_headings_say() -> None:
    runbook = parse_text(
        "# KubePodCrashLooping\n\n## Diagnosis\n\n```bash\nkubectl -n web get pods\n```\n\n"
        "## Mitigation\n\n### Option 1: roll back\n\n```bash\nkubectl -n web rollout undo deployment/web\n```\n\n"
        "## Verification\n\n```bash\nkubectl -n web rollout status deployment/web\n```\n"
    )
    (incident,) = runbook.incidents
    assert incident.title == "KubePodCrashLooping"
    assert [c.text for s in incident.steps for c in s.commands][-1] == "kubectl -n web rollout status deployment/web"


def test_a_phase_sub_heading_never_steals_the_incident_from_its_parent() -> None:
    runbook = parse_text(
        "# Orders database runbook\n\n## Connection slots exhausted\n\n**Time to resolve:** 30 min\n\n"
        "### Check the pool\n\n```bash\npsql -c 'select 1'\n```\n\n### Restart the worker\n\n"
        "```bash\nkubectl rollout restart deployment/worker\n```\n\n"
        "## Replica lag high\n\n```bash\nkubectl get pods\n```\n"
    )
    assert [i.title for i in runbook.incidents] == ["Connection slots exhausted", "Replica lag high"]
    assert len(runbook.incidents[0].steps) == 2


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("$ kubectl get pods", "kubectl get pods"),
        ("ops@bastion:~$ kubectl get pods", "kubectl get pods"),
        ("[root@db-1 ~]# systemctl status postgresql", "systemctl status postgresql"),
        ("sh-4.4# crictl ps", "crictl ps"),
        ("➜  ~ kubectl get nodes", "kubectl get nodes"),
        ("I have no name!@pod-0:/$ ls /data", "ls /data"),
    ],
)
def test_prompts_are_stripped_and_unprompted_lines_are_output(line: str, command: str) -> None:
    code = f"{line}\nNAME      READY   STATUS\napi-0     1/1     Running\n"
    assert [c.text for c in commands_from_code(code, "bash", 1)] == [command]


def test_output_lines_after_a_command_are_never_commands() -> None:
    code = "kubectl rollout restart deployment/api\ndeployment.apps/api restarted\n"
    assert [c.text for c in commands_from_code(code, "bash", 1)] == ["kubectl rollout restart deployment/api"]


def test_lines_typed_into_a_psql_session_are_sql_and_the_exit_is_not_a_command() -> None:
    code = (
        "$ kubectl exec -it db-0 -- psql -U postgres\norders=# SELECT count(*) FROM pg_stat_activity;\norders=# \\q\n"
    )
    found = commands_from_code(code, "bash", 1)
    assert [(c.language, c.text) for c in found] == [
        ("bash", "kubectl exec -it db-0 -- psql -U postgres"),
        ("sql", "SELECT count(*) FROM pg_stat_activity;"),
    ]


def test_redis_commands_typed_into_redis_cli_keep_their_own_effect() -> None:
    code = "kubectl exec -it redis-0 -- redis-cli\n127.0.0.1:6379> INFO memory\n127.0.0.1:6379> FLUSHDB\nOK\n"
    found = commands_from_code(code, "bash", 1)
    assert [(c.text, c.effect) for c in found[1:]] == [
        ("INFO memory", Effect.READ_ONLY),
        ("FLUSHDB", Effect.DESTRUCTIVE),
    ]


@pytest.mark.parametrize(
    "code",
    [
        "groups:\n  - name: api\n    rules:\n      - alert: HighErrors\n",
        "sum by (host) (rate(nginx_requests_total[5m]))\n",
        "[ ] Status page updated\n[ ] Incident channel opened\n",
        "├─ Error rate > 5%?\n│  └─ roll back\n",
        '{"status": "ok"}\n',
    ],
)
def test_untagged_blocks_that_are_not_shell_give_no_commands(code: str) -> None:
    assert commands_from_code(code, "", 1) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [("kubectl -n $NAMESPACE logs $POD", True), ("DB_POOL_MAX", False), ("deployment/api", False), ("kubectl", False)],
)
def test_an_inline_span_is_a_command_only_when_it_reads_as_one(code: str, expected: bool) -> None:
    assert reads_as_command(code) is expected


def test_step_paragraphs_and_step_headings_are_steps() -> None:
    found = texts(
        "# Cache warm-up\n\n## Procedure\n\nStep 1. Check the cache: `redis-cli -h cache INFO stats`.\n\n"
        "### Step 2: Warm it\n\n```bash\n./scripts/warm-cache.sh\n```\n"
    )
    assert found == ["redis-cli -h cache INFO stats", "./scripts/warm-cache.sh"]


def test_step_n_headings_are_read_as_that_many_steps_with_their_titles() -> None:
    runbook = parse_text(
        "# Disk full on db-1\n\n**Time to resolve:** 15 minutes\n\n"
        "### Step 1: Check usage\n\n```bash\ndf -h /var/lib/postgresql\n```\n\n"
        "### Step 2: Remove old WAL\n\nArchive first.\n\n"
        "```bash\npg_archivecleanup /var/lib/postgresql/wal 000000010000000000000010\n```\n\n"
        "### Step 3: Confirm\n\n```bash\ndf -h /var/lib/postgresql\n```\n"
    )
    (incident,) = runbook.incidents
    assert [(s.number, s.title, s.line) for s in incident.steps] == [
        (1, "Check usage", 5),
        (2, "Remove old WAL", 11),
        (3, "Confirm", 19),
    ]
    assert [len(s.commands) for s in incident.steps] == [1, 1, 1]
    assert "no-steps" not in {f.rule for f in lint_runbook(runbook)}


def test_step_n_headings_restart_numbering_in_each_incident() -> None:
    runbook = parse_text(
        "# Storage runbook\n\n## Disk full\n\n**Time to resolve:** 15 minutes\n\n"
        "### Step 1: Check usage\n\n```bash\ndf -h\n```\n\n### Step 2 - Clean\n\n```bash\nrm -rf /tmp/x\n```\n\n"
        "## Inodes exhausted\n\n**Time to resolve:** 30 minutes\n\n### Step 1: Look\n\n```bash\ndf -i\n```\n"
    )
    assert [(i.title, [(s.number, s.title) for s in i.steps]) for i in runbook.incidents] == [
        ("Disk full", [(1, "Check usage"), (2, "Clean")]),
        ("Inodes exhausted", [(1, "Look")]),
    ]


@pytest.mark.parametrize(
    ("markdown", "seconds"),
    [
        ("# Disk full (Within 15 minutes)\n\n```bash\ndf -h\n```\n", 900),
        ("# Disk full\n\nExpected Time: 10 minutes\n\n```bash\ndf -h\n```\n", 600),
        ("# Disk full\n\n| Field | Value |\n|---|---|\n| Resolution | 4 hours |\n\n```bash\ndf -h\n```\n", 14400),
        ("# Disk full\n\n0–5 min: look\n\n```bash\ndf -h\n```\n\n5–25 min: fix\n\n```bash\nrm -rf /tmp/x\n```\n", 1500),
    ],
)
def test_resolution_targets_in_the_forms_teams_use(markdown: str, seconds: float) -> None:
    (incident,) = parse_text(markdown).incidents
    assert incident.time_target is not None
    assert incident.time_target.seconds == seconds


def test_a_response_sla_is_not_a_resolution_target() -> None:
    text = "# API down\n\n**Response SLA:** acknowledge within 15 min\n\n```bash\nkubectl get po\n```\n"
    (incident,) = parse_text(text).incidents
    assert incident.time_target is None
    assert incident.response_target is not None
    assert incident.response_target.kind is TimeTargetKind.RESPONSE_SLA


def test_a_document_rto_applies_to_every_procedure_below_it() -> None:
    runbook = parse_text(
        "# MySQL operations\n\n**Recovery objective (RTO):** 1 hour for every procedure.\n\n"
        "## Replica lag high\n\n```bash\nmysql -e 'SHOW REPLICA STATUS'\n```\n\n"
        "## Replica failed\n\n```bash\nmysqldump --all-databases > all.sql\n```\n"
    )
    assert [i.time_target.seconds if i.time_target else None for i in runbook.incidents] == [3600, 3600]


@pytest.mark.parametrize(
    ("command", "effect"),
    [
        ("kubectl -n web delete statefulset search", Effect.DESTRUCTIVE),
        ("kubectl scale deploy/web --replicas=0", Effect.DESTRUCTIVE),
        ("kubectl delete deploy/web --cascade=orphan", Effect.DESTRUCTIVE),
        ("bash -c 'rm -rf /var/lib/app/*'", Effect.DESTRUCTIVE),
        ("pg_restore --clean -d orders orders.dump", Effect.DESTRUCTIVE),
        ("podman rmi old:1.0", Effect.DESTRUCTIVE),
        ("curl https://status.example.com/api/incidents", Effect.EXTERNAL),
        ("echo down | slack-notify --channel '#ops'", Effect.NOTIFICATION),
        ("gh issue create --title x", Effect.EXTERNAL),
        ("argocd app sync web", Effect.EXTERNAL),
        ("knife ssh 'role:web' 'sudo chef-client'", Effect.EXTERNAL),
        ("./scripts/rebalance.sh", Effect.UNKNOWN),
        ("npm run health:db", Effect.READ_ONLY),
        ("docker compose -f prod.yml logs api", Effect.READ_ONLY),
        ("psql -h <DB_HOST> -U <DB_USER> -d app", Effect.READ_ONLY),
    ],
)
def test_effects_never_miss_danger_and_unknown_tools_are_unknown(command: str, effect: Effect) -> None:
    assert commands_from_code(command, "bash", 1)[0].effect is effect


def test_lint_says_plainly_when_nothing_is_drillable() -> None:
    runbook = parse_text("# Contacts\n\n## On-call\n\n| Week | Primary |\n|---|---|\n| 1 | Dana |\n")
    (finding,) = [f for f in lint_runbook(runbook) if f.rule == "nothing-drillable"]
    assert "no section describes a situation" in finding.message


def test_invalid_utf8_and_an_unclosed_fence_are_reported_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "runbook.md"
    path.write_bytes(b"# Disk \xff full\n\n```bash\ndf -h\n")
    runbook = parse_runbook(path)
    assert [(n.rule, n.line, n.message) for n in runbook.notes] == [
        ("invalid-utf8", 1, "invalid UTF-8 (byte 0xff) read as U+FFFD; save the file as UTF-8"),
        (
            "unclosed-fence",
            3,
            "the code block opened here with ``` is never closed, so the rest of the file is read as code; "
            "add a line of ``` where the block ends",
        ),
    ]
    formatted = [f.format() for f in lint_runbook(runbook) if f.rule in {"invalid-utf8", "unclosed-fence"}]
    assert formatted == [
        f"{path}:1: invalid-utf8: invalid UTF-8 (byte 0xff) read as U+FFFD; save the file as UTF-8",
        f"{path}:3: unclosed-fence: the code block opened here with ``` is never closed, so the rest of the file "
        "is read as code; add a line of ``` where the block ends",
    ]


def test_an_unclosed_tilde_fence_says_which_marker_closes_it() -> None:
    (note,) = parse_text("# Disk full\n\n## Fix\n\n~~~~sh\ndf -h\n~~~\n").notes
    assert (note.rule, note.line) == ("unclosed-fence", 5)
    assert note.message.endswith("add a line of ~~~~ where the block ends")


def test_option_sub_headings_are_branches_of_one_step() -> None:
    (incident,) = parse_text(
        "# Crash loop\n\n## Mitigation\n\n### Option 1: roll back\n\nUndo the release:\n\n"
        "```bash\nkubectl rollout undo deployment/api\n```\n\n"
        "Expected output:\n\n```\ndeployment.apps/api rolled back\n```\n\n"
        "### Option 2: more memory\n\n```bash\nkubectl set resources deployment/api --limits=memory=1Gi\n```\n"
    ).incidents
    (step,) = incident.steps
    assert step.title == "Mitigation"
    assert [(c.branch, c.verb) for c in step.commands] == [("Option 1", "rollout"), ("Option 2", "set")]
