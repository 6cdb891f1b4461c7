"""The executor's policy: every command is judged *before* it runs.

Decisions, worst part of a line wins:

* ``captured`` — notifications (Slack, PagerDuty, status pages, mail): never sent; the payload is kept.
* ``blocked`` — cloud CLIs and remote shells (they leave the sandbox), destructive host commands, docker,
  any host that is not loopback after bindings, and placeholders nothing binds.
* ``missing_tool`` — a tool this machine lacks (helm, npm, mongosh…), reported per step.
* ``bounded`` — commands that never end by themselves (``-w``, ``-f``, ``watch``, ``top``): run with a
  short deadline and counted as done when it passes.
* ``manual`` — prose only: not executable unless the drill supplies a command (then ``supplied``).
* ``runs`` — everything else.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from drillbook.execute.shell import Part, hosts, is_loopback, split_parts, urls
from drillbook.journal import Decision

CLOUD_CLIS = frozenset({"aws", "gcloud", "gsutil", "az", "terraform", "eksctl", "doctl", "pulumi", "heroku", "fly"})
REMOTE_SHELLS = frozenset({"ssh", "scp", "sftp", "rsync", "telnet"})
HOST_DESTRUCTIVE = frozenset({"dd", "mkfs", "shutdown", "reboot", "halt", "poweroff", "kill", "pkill", "killall"})
NOTIFY_HOSTS = ("hooks.slack.com", "slack.com", "pagerduty.com", "statuspage.io", "opsgenie.com", "discord.com")
NOTIFY_PROGRAMS = frozenset({"/slack", "slack", "mail", "sendmail", "mailx", "pd-send"})
SHELL_BUILTINS = frozenset(
    {"echo", "cd", "export", "set", "unset", "test", "[", "true", "false", "printf", "read", "sleep", "for", "do",
     "done", "if", "then", "fi", "while", "source", ".", "wait", "exit", "local", "let", "eval", "trap", "alias"}
)  # fmt: skip

BOUNDED_DEADLINE_S = 8.0
"""A never-ending command (``-w``, ``-f``, ``watch``) runs this long and then counts as done."""


@dataclass(frozen=True)
class Judgement:
    """What the policy decided for one command, and why."""

    decision: Decision
    reason: str = ""
    payload: str = ""
    """For a captured notification: the message that would have been sent."""


def judge(text: str, unresolved: Sequence[str], tool_dirs: Sequence[Path]) -> Judgement:
    """Judge a command as it will run (bindings already applied)."""
    if unresolved:
        return Judgement(
            Decision.BLOCKED, f"unbound placeholder {', '.join(unresolved)}: nothing in the sandbox binds it"
        )
    parts = split_parts(text)
    judgements = [_judge_part(part, tool_dirs) for part in parts] or [Judgement(Decision.RUNS)]
    for decision in (Decision.BLOCKED, Decision.CAPTURED, Decision.MISSING_TOOL, Decision.BOUNDED):
        for judgement in judgements:
            if judgement.decision is decision:
                return judgement
    return Judgement(Decision.RUNS)


def _judge_part(part: Part, tool_dirs: Sequence[Path]) -> Judgement:
    program, args = part.program, part.args
    text = part.text
    if program in NOTIFY_PROGRAMS or any(host in text for host in NOTIFY_HOSTS):
        return Judgement(Decision.CAPTURED, "notification: captured, never sent", _payload(part))
    if program in CLOUD_CLIS:
        return Judgement(Decision.BLOCKED, f"{program} is a cloud CLI: it would leave the sandbox")
    if program in REMOTE_SHELLS:
        return Judgement(Decision.BLOCKED, f"{program} reaches hosts outside the sandbox")
    if program in HOST_DESTRUCTIVE or (program == "rm" and any(a.startswith("-") and "r" in a for a in args)):
        return Judgement(Decision.BLOCKED, f"{program} is a destructive host command")
    if program in {"docker", "docker-compose", "podman"}:
        return Judgement(Decision.BLOCKED, f"{program} acts on the host's containers, not the sandbox")
    for host in hosts(part):
        if "<" in host or "{" in host or host.startswith("$"):
            return Judgement(Decision.BLOCKED, f"unbound host {host}: nothing in the sandbox binds it")
        if not is_loopback(host):
            return Judgement(
                Decision.BLOCKED, f"{host} is not in the sandbox (only loopback and bound hosts are reached)"
            )
    if program and program not in SHELL_BUILTINS and not _installed(program, tool_dirs):
        return Judgement(Decision.MISSING_TOOL, f"{program} is not installed on this machine")
    if _never_ends(program, args):
        return Judgement(Decision.BOUNDED, f"never ends by itself: stopped after {BOUNDED_DEADLINE_S:.0f} s")
    return Judgement(Decision.RUNS)


def _installed(program: str, tool_dirs: Sequence[Path]) -> bool:
    if "/" in program:
        return Path(program).exists()
    path = ":".join(str(d) for d in tool_dirs) or None
    return shutil.which(program, path=path) is not None


def _never_ends(program: str, args: Sequence[str]) -> bool:
    if program in {"watch", "htop"} or (program == "top" and "-b" not in args):
        return True
    if program == "kubectl":
        # Words after `--` belong to the command run in the pod (psql's -w is "no password", not "watch").
        args = args[: list(args).index("--")] if "--" in args else args
        verb = next((a for a in args if not a.startswith("-")), "")
        if verb == "port-forward" or any(a in {"-w", "--watch", "--watch-only"} for a in args):
            return True
        if verb in {"logs", "attach"} and any(a in {"-f", "--follow"} for a in args):
            return True
    if program == "tail" and any(a in {"-f", "-F", "--follow"} for a in args):
        return True
    return program == "redis-cli" and any(a.lower() in {"monitor", "subscribe", "psubscribe"} for a in args)


def _payload(part: Part) -> str:
    words = part.args
    for index, word in enumerate(words):
        if word in {"-d", "--data", "--data-raw", "--data-binary"} and index + 1 < len(words):
            data = words[index + 1]
            try:
                return json.dumps(json.loads(data), indent=2)
            except ValueError:
                return data
    targets = urls(part.text)
    message = re.sub(r"\s+", " ", part.text)
    return f"{message} (to {targets[0]})" if targets else message
