"""Runbooks from other teams: odd fences, front matter, HTML, mojibake, empty files. Never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drillbook.errors import RunbookParseError
from drillbook.runbook import Effect, parse_runbook, parse_text
from drillbook.runbook.parser import RunbookInternalError


def test_unclosed_fence_runs_to_the_end_and_still_yields_commands() -> None:
    runbook = parse_text(
        "# Ops\n\n## RB-001: Down\n\n**Time to Resolve**: 5 minutes\n\n1. **Check**\n   ```bash\n   kubectl get pods\n"
    )
    (step,) = runbook.incident("RB-001").steps
    assert [c.text for c in step.commands] == ["kubectl get pods"]


def test_indented_fence_inside_a_list_item_belongs_to_that_step() -> None:
    text = "## Incident 1: API down\n\n**Symptoms**: 503s\n\n1. Look\n\n    ```sh\n    kubectl get pods\n    ```\n"
    (step,) = parse_text(text).incident("Incident 1").steps
    assert step.commands[0].tool == "kubectl"


def test_yaml_front_matter_becomes_metadata_and_keeps_line_numbers() -> None:
    text = "---\ntitle: Payments runbook\nowner: team-pay\n---\n## RB-002: Slow\n\n**Time to Resolve**: 1 hour\n"
    runbook = parse_text(text)
    assert runbook.metadata == {"title": "Payments runbook", "owner": "team-pay"}
    assert runbook.title == "Payments runbook"
    assert runbook.incident("RB-002").line == 5


def test_broken_front_matter_is_ignored_not_fatal() -> None:
    runbook = parse_text("---\n: [unclosed\n---\n# T\n\n## P1: Down\n\n**Response SLA**: 5 minutes\n")
    assert runbook.metadata == {}
    assert runbook.incident("P1").response_target is not None


def test_html_and_mdx_blocks_do_not_break_parsing() -> None:
    text = (
        '<div align="center"><img src="x.png"></div>\n\nimport Tabs from "@theme/Tabs";\n\n'
        "## Alert: High Error Rate\n\n<details><summary>More</summary>\n\nhidden\n\n</details>\n\n"
        "**Trigger**: error rate > 2% for 5 minutes\n"
    )
    (incident,) = parse_text(text).incidents
    assert incident.alerts[0].for_seconds == 300


def test_heredoc_inside_a_numbered_procedure_is_one_command() -> None:
    text = (
        "## Restore Procedure\n\n```bash\n# 1. Apply\ncat <<'YAML' | kubectl apply -f -\nkind: Namespace\nYAML\n```\n"
    )
    (step,) = parse_text(text).incidents[0].steps
    (command,) = step.commands
    assert command.text.splitlines()[-1] == "YAML"


def test_mojibake_is_decoded_with_replacement(tmp_path: Path) -> None:
    path = tmp_path / "runbook.md"
    path.write_bytes(b"# Ops \xff\xfe\n\n## RB-003: Disk \xe2\x86\x92 full\n\n**Time to Resolve**: 10 minutes\n")
    runbook = parse_runbook(path)
    assert runbook.incident("RB-003").title == "RB-003: Disk → full"
    assert "\ufffd" in runbook.title


@pytest.mark.parametrize("content", ["", "   \n\n\t\n"])
def test_empty_document_is_a_parse_error_on_line_one(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.md"
    path.write_text(content)
    with pytest.raises(RunbookParseError, match="empty document") as caught:
        parse_runbook(path)
    assert caught.value.line == 1
    assert caught.value.path == path


def test_binary_file_is_refused_with_the_line_of_the_first_nul(tmp_path: Path) -> None:
    path = tmp_path / "image.md"
    path.write_bytes(b"line one\nline two\x00\x01")
    with pytest.raises(RunbookParseError, match="binary") as caught:
        parse_runbook(path)
    assert caught.value.line == 2


def test_missing_file_says_what_to_check(tmp_path: Path) -> None:
    with pytest.raises(RunbookParseError, match="check the path"):
        parse_runbook(tmp_path / "nope.md")


def test_document_without_incidents_parses_to_none() -> None:
    runbook = parse_text("# Notes\n\nJust prose here.\n")
    assert runbook.incidents == ()
    with pytest.raises(KeyError, match="available: none"):
        runbook.incident("RB-001")


def test_prose_only_step_is_a_manual_command() -> None:
    text = "## Incident 3: Redis down\n\n**Symptoms**: errors\n\n1. Restart Redis service\n2. Open Grafana\n"
    steps = parse_text(text).incident("incident 3").steps
    assert [(s.commands[0].language, s.commands[0].effect) for s in steps] == [("prose", Effect.MANUAL)] * 2


def test_duplicate_headings_get_distinct_ids() -> None:
    text = "## Rollback Procedure\n\n```bash\n# 1. undo\nkubectl rollout undo deploy/a\n```\n" * 2
    assert [i.id for i in parse_text(text).incidents] == ["rollback-procedure", "rollback-procedure-2"]


MARKDOWNISH = st.lists(
    st.sampled_from(
        [
            "#",
            "## ",
            "### RB-0",
            "1. ",
            "- ",
            "```",
            "```bash",
            "~~~",
            "**Time to Resolve**: ",
            "> ",
            "|",
            "---",
            "<div>",
            "kubectl get pods",
            "$ ",
            "\\",
            "<<EOF",
            "EOF",
            "`",
            "*",
            "5 minutes",
            "> 5%",
            "\n",
            "\n\n",
            "    ",
            "Step 1. ",
            "### Step 2: ",
            "**Mitigation**:",
            "- **Pool exhausted**: ",
            "# Kubernetes\n",
            "# Docker Compose\n",
            "psql -h <DB_HOST>\n",
            "orders=# ",
            "127.0.0.1:6379> ",
            "kubectl exec -it db-0 -- bash\n",
            "for x in a b; do\n",
            "done\n",
            "(Within 5 minutes)",
            "0–5 min: ",
            "| Resolution | 4 hours |\n",
            "\udcff",
            "# Or restart\n",
            "# Alternatively, ",
            "-- Or terminate it\n",
            "# Optional: ",
            "redis-cli -p 6379\n",
            "INFO clients\n",
            "mongosh\n",
            "sudo -u postgres psql\n",
            "PGPASSWORD=x psql -h db\n",
            "\\q\n",
        ]
    )
    | st.text(max_size=20),
    max_size=40,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MARKDOWNISH)
def test_any_markdownish_text_gives_a_runbook_or_a_located_parse_error(text: str) -> None:
    error: RunbookParseError | None = None
    try:
        runbook = parse_text(text, "fuzz.md")
    except RunbookParseError as exc:
        error = exc
    if error is not None:
        assert not isinstance(error, RunbookInternalError), error
        assert error.line is not None
        return
    runbook.to_json()
    for incident in runbook.incidents:
        assert incident.line >= 1


def test_plain_field_labels_without_bold_are_read() -> None:
    text = "## Cache Outage\n\nSeverity: High\nTime to Resolve: 20 minutes\nTrigger: error rate > 3% for 1 minute\n"
    (incident,) = parse_text(text).incidents
    assert incident.severity == "High"
    assert incident.time_target is not None
    assert (incident.time_target.seconds, incident.time_target.line) == (1200, 4)
    assert incident.alerts[0].for_seconds == 60


def test_single_incident_document_becomes_one_incident_with_headed_steps() -> None:
    text = (
        "# Redis Down\n\n## Symptoms\n\n- timeouts > 2% of requests\n\n## Diagnosis\n\n```bash\nredis-cli ping\n```\n\n"
        "## Resolution\n\n1. Restart Redis service\n2. Verify\n\n   ```bash\n   redis-cli info\n   ```\n"
    )
    (incident,) = parse_text(text).incidents
    assert (incident.id, incident.title, incident.line) == ("redis-down", "Redis Down", 1)
    assert incident.symptoms == ("timeouts > 2% of requests",)
    assert [(s.number, s.title) for s in incident.steps] == [
        (1, "Diagnosis"),
        (2, "Restart Redis service"),
        (3, "Verify"),
    ]
    assert incident.steps[1].commands[0].effect.value == "manual"


def test_an_endless_device_is_refused_without_reading_it_all() -> None:
    with pytest.raises(RunbookParseError, match="at most 4 MB") as caught:
        parse_runbook("/dev/zero")
    assert caught.value.line == 1
