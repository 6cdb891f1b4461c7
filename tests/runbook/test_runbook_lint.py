"""Lint findings say where, which rule, and what to do."""

from __future__ import annotations

from pathlib import Path

from drillbook.runbook import parse_text
from drillbook.runbook.lint import RULES, Finding, lint_runbook

RUNBOOK = """# Ops

## RB-001: Database down

**Time to Resolve**: 10 minutes

1. **Look**
   ```bash
   kubectl logs <pod-name> -f
   ```
2. **Wipe**
   ```bash
   kubectl delete namespace prod
   kubectl delete namespace staging --dry-run=server
   ```
3. **Tell people**
   ```bash
   aws sns publish --topic-arn arn:aws:sns:x --message down
   ```
4. Restart Redis service

## Alert: Disk full

**Trigger**: disk > 90% for 5 minutes

1. **Check**
   ```bash
   df -h
   frobnicate --now
   frobnicate --later
   ```
"""


def everything_installed(tool: str) -> str | None:
    return f"/usr/bin/{tool}"


def rules_at(findings: list[Finding]) -> list[tuple[int, str]]:
    return [(f.line, f.rule) for f in findings]


def test_each_rule_fires_on_the_line_it_is_about() -> None:
    findings = lint_runbook(parse_text(RUNBOOK, "ops.md"), which=everything_installed)
    assert rules_at(findings) == [
        (9, "never-ends"),
        (9, "unresolved-placeholder"),
        (13, "unguarded-destructive"),
        (18, "leaves-sandbox"),
        (20, "prose-only-step"),
        (22, "no-time-target"),
    ]
    assert {f.incident for f in findings} == {"RB-001", "alert-disk-full"}


def test_missing_tools_are_reported_once_with_a_count() -> None:
    installed = {"kubectl", "aws", "df"}
    findings = lint_runbook(parse_text(RUNBOOK, "ops.md"), which=lambda t: t if t in installed else None)
    missing = [f for f in findings if f.rule == "tool-not-installed"]
    assert [(f.line, f.incident) for f in missing] == [(29, "alert-disk-full")]
    assert "'frobnicate' is not on PATH here (2 commands use it)" in missing[0].message


def test_finding_formats_as_file_line_rule_message() -> None:
    finding = Finding(Path("ops.md"), 9, "never-ends", "'top' never ends by itself (wrap it in 'timeout 30')", "P1")
    assert finding.format() == "ops.md:9: never-ends: 'top' never ends by itself (wrap it in 'timeout 30')"
    assert finding.to_json()["path"] == "ops.md"


def test_every_message_says_what_to_do_and_every_rule_is_documented() -> None:
    findings = lint_runbook(parse_text(RUNBOOK, "ops.md"), which=lambda t: None)
    assert {f.rule for f in findings} <= RULES.keys()
    assert all(f.message.endswith(")") and "(" in f.message for f in findings)


def test_clean_runbook_has_no_findings() -> None:
    text = "## P1: Down\n\n**Time to Resolve**: 5 minutes\n\n1. **Check**\n   ```bash\n   kubectl get pods\n   ```\n"
    assert lint_runbook(parse_text(text), which=everything_installed) == []
