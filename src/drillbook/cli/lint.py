"""``drillbook lint``: findings that would stop a runbook from being rehearsed as a drill."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from drillbook.cli.parse import emit
from drillbook.errors import RunbookParseError
from drillbook.gherkin.unattached import unattached_commands
from drillbook.gherkin.validate import runbook_text
from drillbook.runbook import parse_runbook
from drillbook.runbook.lint import RULES, lint_runbook


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``lint`` subcommand."""
    rules = "; ".join(f"{rule}: {text}" for rule, text in RULES.items())
    parser = subparsers.add_parser(
        "lint",
        help="report what would stop runbooks from being rehearsed (placeholders, prose steps, …)",
        description=f"Report findings as file:line: rule-id: message. Rules: {rules}. "
        "Exit 0 when clean, 1 with findings, 2 when a runbook cannot be read.",
    )
    parser.add_argument("runbooks", nargs="+", metavar="RUNBOOK", help="markdown runbook files")
    parser.add_argument("--json", action="store_true", help="print findings as a JSON list")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Lint every runbook given; unreadable ones are reported and make the exit code 2."""
    unreadable = 0
    findings: list[Any] = []
    warnings: list[str] = []
    for name in args.runbooks:
        try:
            runbook = parse_runbook(name)
        except RunbookParseError as exc:
            unreadable += 1
            print(f"drillbook lint: error: {exc}", file=sys.stderr)
            continue
        findings.extend(lint_runbook(runbook))
        warnings.extend(u.format(runbook.path) for u in unattached_commands(runbook, runbook_text(runbook)))
    if args.json:
        print(json.dumps([f.to_json() for f in findings], indent=2))
    else:
        for finding in findings:
            emit(finding.format())
        for warning in warnings:  # a warning, not a finding: the exit code stays the findings'
            emit(f"warning: {warning}")
        checked = len(args.runbooks) - unreadable
        print(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {checked} runbook(s)", file=sys.stderr)
    if unreadable:
        return 2
    return 1 if findings else 0
