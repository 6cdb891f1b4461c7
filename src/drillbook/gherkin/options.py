"""drillbook's settings in a pytest session: each one a command-line option and an ini option of the same meaning.

A project writes its defaults once in its pytest configuration (``[tool.pytest.ini_options]``, ``pytest.ini``)::

    [tool.pytest.ini_options]
    drillbook_platform = "kind"
    drillbook_reports = "out/drills"

and a command line still wins for one run (``--drillbook-platform=local``). ``pytest --help`` lists both forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pytest


@dataclass(frozen=True)
class Setting:
    """One drillbook setting: its command-line option, its ini name and its default."""

    option: str
    """``--drillbook-platform``."""
    help: str
    default: str | None
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    many: bool = False
    """A list: the option is repeatable, the ini value holds one entry a line."""

    @property
    def ini(self) -> str:
        """``drillbook_platform``."""
        return self.option.lstrip("-").replace("-", "_")

    @property
    def dest(self) -> str:
        return self.ini


def _platforms() -> tuple[str, ...]:
    from drillbook.journal import Platform

    return tuple(p.value for p in Platform)


SETTINGS: tuple[Setting, ...] = (
    Setting("--drillbook-reports", "where run directories go, relative to the rootdir", "reports", "DIR"),
    Setting(
        "--drillbook-platform",
        "where drills run: local (embedded), docker, kind, k3s or existing",
        "local",
        "NAME",
        choices=_platforms(),
    ),
    Setting("--drillbook-scenarios", "scenario directory (default: <rootdir>/scenarios)", None, "DIR"),
    Setting("--drillbook-run-id", "name of this run's directory (default: a timestamp)", None, "NAME"),
    Setting(
        "--drillbook-feature",
        "run only the drills of this .feature file (repeatable; in ini, one a line); drillbook gameday PATH.feature "
        "passes it",
        None,
        "PATH",
        many=True,
    ),
    Setting(
        "--drillbook-shard", "run only shard I of N of the drills (a stable round-robin slice by node id)", None, "I/N"
    ),
    Setting(
        "--drillbook-jobs",
        "run the drills in N processes at once, merged into one run ('auto': one per two cores)",
        "1",
        "N",
    ),
)

_BY_OPTION = {s.option: s for s in SETTINGS}


def add_options(parser: pytest.Parser) -> None:
    """Register every setting as a command-line option and as an ini option."""
    group = parser.getgroup("drillbook", "drillbook game days")
    for setting in SETTINGS:
        default = f"; default: {setting.default}" if setting.default is not None else ""
        group.addoption(
            setting.option,
            dest=setting.dest,
            default=None,  # None: not given, so the ini value applies
            action="append" if setting.many else "store",
            metavar=setting.metavar,
            choices=list(setting.choices) or None,
            help=f"{setting.help}{default} (ini: {setting.ini})",
        )
        kind: Literal["linelist", "string"] = "linelist" if setting.many else "string"
        parser.addini(
            setting.ini,
            f"{setting.help}{default} (command line: {setting.option}, which wins)",
            type=kind,
            default=[] if setting.many else setting.default,
        )


def setting(config: pytest.Config, option: str) -> str | None:
    """A setting's value: the command line's, else the ini file's, else its default."""
    spec = _BY_OPTION[option]
    assert not spec.many, f"{option} is a list: use settings()"
    given = config.getoption(spec.dest)
    if given is not None:
        return str(given)
    value = config.getini(spec.ini)
    text = str(value) if value is not None else ""
    if spec.choices and text and text not in spec.choices:
        raise pytest.UsageError(
            f"ini option {spec.ini} = {text!r} is not one of: {', '.join(spec.choices)} (as {option} would take)"
        )
    return text or spec.default


def settings(config: pytest.Config, option: str) -> Sequence[str]:
    """A list setting's values: the command line's if it gave any, else the ini file's lines."""
    spec = _BY_OPTION[option]
    given = config.getoption(spec.dest)
    if given:
        return [str(v) for v in given]
    return [str(v) for v in config.getini(spec.ini) or []]
