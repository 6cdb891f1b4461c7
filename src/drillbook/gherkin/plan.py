"""A drill compiled once, at collection, from the step arguments pytest-bdd matched: a typed :class:`DrillPlan`.

There is one reader of Gherkin sentences: pytest-bdd, with the step parsers of :mod:`drillbook.gherkin.steps`. Each
drillbook step function is marked with the :func:`clause` it contributes to the plan; the plugin hands
:func:`compile_plan` every step of a scenario with the arguments pytest-bdd parsed for it, and the plan is what the
drill fixture and the collection checks read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from drillbook.errors import ScenarioError
from drillbook.faults.params import ParamValue

Clause = Literal[
    "system", "traffic", "measures", "branch", "supplies", "optional", "fault", "breach", "follows", "restored"
]
"""What a drillbook sentence says about the drill."""

F = TypeVar("F", bound=Callable[..., Any])

_CLAUSES: dict[Callable[..., Any], tuple[Clause, Mapping[str, object]]] = {}

_PARAM = re.compile(r'(\w+)\s+"([^"]*)"')


def parse_params(text: str) -> dict[str, str]:
    """``mode "idle", variable "DATABASE_URL"`` → ``{"mode": "idle", "variable": "DATABASE_URL"}``."""
    return dict(_PARAM.findall(text))


def clause(kind: Clause, **implied: object) -> Callable[[F], F]:
    """Mark a step function as a drillbook sentence of ``kind``; ``implied`` are arguments its words fix
    (a fault sentence's fault and parameters). Put it under the ``@given``/``@when``/``@then`` decorator."""

    def mark(func: F) -> F:
        _CLAUSES[func] = (kind, dict(implied))
        return func

    return mark


def clause_of(step_func: Callable[..., Any]) -> tuple[Clause, Mapping[str, object]] | None:
    """The clause a step function was marked with, and the arguments its words fix; ``None`` for a step that is
    not drillbook's."""
    return _CLAUSES.get(step_func)


@dataclass(frozen=True)
class Sentence:
    """One step of a scenario, as pytest-bdd matched and parsed it."""

    line: int
    keyword: str
    """``Given``, ``When`` or ``Then`` (an ``And`` resolved to the step type it continues)."""
    text: str
    clause: Clause | None = None
    """The drillbook clause its step definition contributes; ``None`` for another library's step or no match."""
    args: Mapping[str, object] = field(default_factory=dict)
    """Its arguments as pytest-bdd parsed and converted them, plus what the sentence's words imply."""
    matched: bool = True
    """Whether any step definition visible to the scenario matches it."""


@dataclass(frozen=True)
class Said:
    """A value a drill states, with the line that states it."""

    value: str
    line: int


@dataclass(frozen=True)
class StepRef:
    """A drill sentence about one of the runbook's steps: a branch to follow, a supplied command, optional."""

    number: int
    line: int
    value: str = ""
    """The branch label (``Option 2``) or the supplied command; empty for an optional step."""


@dataclass(frozen=True)
class FaultPlan:
    """The fault a drill injects."""

    name: str
    line: int
    given: Mapping[str, str]
    """The parameters as the drill wrote them (what the fault is built with)."""
    params: Mapping[str, ParamValue]
    """Every parameter typed and checked against the fault's schema, defaults filled in; empty when the check
    failed (the plan's ``problems`` say why)."""


@dataclass(frozen=True)
class DrillPlan:
    """One drill as its scenario states it, compiled once at collection."""

    feature: str
    """The feature file, relative to the rootdir when it is inside it."""
    line: int
    """The scenario's line."""
    name: str
    sentences: tuple[Sentence, ...]
    system: Said | None = None
    platform: str | None = None
    """Where the scenario says it runs (``local platform``), as written; the run's platform option decides."""
    users: int | None = None
    incidents: tuple[Said, ...] = ()
    """Every mention of an incident, in order; the first is the drill's."""
    fault: FaultPlan | None = None
    breach_within_s: int | None = None
    follows_line: int | None = None
    """The line of ``When the operator follows incident …``; ``None`` when the drill never responds."""
    restores: bool = False
    """Whether the drill waits for the SLOs to be restored (and so reaches a verdict)."""
    slos: tuple[Said, ...] = ()
    """SLOs the drill states itself (``Given the drill measures "error rate < 1%"``)."""
    branches: tuple[StepRef, ...] = ()
    supplied: tuple[StepRef, ...] = ()
    optional: tuple[StepRef, ...] = ()
    problems: tuple[str, ...] = ()
    """What is wrong in the sentences themselves (an unknown fault, a bad fault parameter), as ``file:line: …``."""

    @property
    def is_drill(self) -> bool:
        """Whether any sentence is drillbook's: only then is the scenario a drill drillbook checks and runs."""
        return any(s.clause is not None for s in self.sentences)

    @property
    def incident(self) -> Said | None:
        """The incident the drill follows: its first mention."""
        return self.incidents[0] if self.incidents else None

    @property
    def step_refs(self) -> tuple[StepRef, ...]:
        """Every sentence about a runbook step, in line order."""
        return tuple(sorted((*self.branches, *self.supplied, *self.optional), key=lambda r: r.line))

    def where(self, line: int) -> str:
        """``feature:line``, the prefix of every message about this drill."""
        return f"{self.feature}:{line}"


@dataclass
class _Builder:
    """A plan being read, sentence by sentence (first mention wins, as a reader would take it)."""

    feature: str
    system: Said | None = None
    platform: str | None = None
    users: int | None = None
    incidents: list[Said] = field(default_factory=list)
    fault: FaultPlan | None = None
    breach_within_s: int | None = None
    follows_line: int | None = None
    restores: bool = False
    slos: list[Said] = field(default_factory=list)
    branches: list[StepRef] = field(default_factory=list)
    supplied: list[StepRef] = field(default_factory=list)
    optional: list[StepRef] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def compile_plan(feature: str, line: int, name: str, sentences: Iterable[Sentence]) -> DrillPlan:
    """The plan of one scenario from its sentences (in order, background first)."""
    said = tuple(sentences)
    b = _Builder(feature)
    for sentence in said:
        if sentence.clause is not None:
            _READERS[sentence.clause](b, sentence)
    return DrillPlan(
        feature,
        line,
        name,
        said,
        system=b.system,
        platform=b.platform,
        users=b.users,
        incidents=tuple(b.incidents),
        fault=b.fault,
        breach_within_s=b.breach_within_s,
        follows_line=b.follows_line,
        restores=b.restores,
        slos=tuple(b.slos),
        branches=tuple(b.branches),
        supplied=tuple(b.supplied),
        optional=tuple(b.optional),
        problems=tuple(b.problems),
    )


def _text(s: Sentence, key: str) -> str:
    return str(s.args.get(key, ""))


def _number(s: Sentence, key: str) -> int:
    value = s.args.get(key)
    return value if isinstance(value, int) else int(str(value))


def _system(b: _Builder, s: Sentence) -> None:
    if b.system is None:
        b.system = Said(_text(s, "system"), s.line)
        where = s.args.get("where")
        b.platform = str(where) if where is not None else None


def _traffic(b: _Builder, s: Sentence) -> None:
    if b.users is None:
        b.users = _number(s, "users")


def _measures(b: _Builder, s: Sentence) -> None:
    b.slos.append(Said(_text(s, "slo"), s.line))


def _branch(b: _Builder, s: Sentence) -> None:
    b.branches.append(StepRef(_number(s, "number"), s.line, _text(s, "branch")))


def _supplies(b: _Builder, s: Sentence) -> None:
    b.supplied.append(StepRef(_number(s, "number"), s.line, _text(s, "command")))


def _optional(b: _Builder, s: Sentence) -> None:
    b.optional.append(StepRef(_number(s, "number"), s.line))


def _fault(b: _Builder, s: Sentence) -> None:
    from drillbook.faults.base import fault_class

    if b.fault is not None:
        b.problems.append(
            f"{b.feature}:{s.line}: a drill injects one fault; this one already injects {b.fault.name!r} "
            f"(line {b.fault.line})"
        )
        return
    name = _text(s, "fault")
    implied = s.args.get("param_values")
    given = {str(k): str(v) for k, v in implied.items()} if isinstance(implied, Mapping) else {}
    if not isinstance(implied, Mapping):
        given = parse_params(str(s.args.get("params") or ""))
    params: Mapping[str, ParamValue] = {}
    try:
        params = fault_class(name).check_params(given)
    except ScenarioError as exc:
        b.problems.append(f"{b.feature}:{s.line}: {exc.detail}{_close_fault(name)}")
    b.fault = FaultPlan(name, s.line, given, params)


def _close_fault(name: str) -> str:
    import difflib

    from drillbook.faults.base import available_faults

    known = list(available_faults())
    if name in known:
        return ""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _incident(b: _Builder, s: Sentence) -> None:
    if s.args.get("incident") is not None:
        b.incidents.append(Said(_text(s, "incident"), s.line))


def _breach(b: _Builder, s: Sentence) -> None:
    _incident(b, s)
    if b.breach_within_s is None:
        b.breach_within_s = _number(s, "seconds")


def _follows(b: _Builder, s: Sentence) -> None:
    _incident(b, s)
    if b.follows_line is None:
        b.follows_line = s.line


def _restored(b: _Builder, s: Sentence) -> None:
    b.restores = True


_READERS: Mapping[Clause, Callable[[_Builder, Sentence], None]] = {
    "system": _system,
    "traffic": _traffic,
    "measures": _measures,
    "branch": _branch,
    "supplies": _supplies,
    "optional": _optional,
    "fault": _fault,
    "breach": _breach,
    "follows": _follows,
    "restored": _restored,
}


def sentences_from_library(steps: Sequence[tuple[int, str, str]]) -> list[Sentence]:
    """Sentences for ``(line, type, text)`` steps read outside a pytest session (``drillbook list``), matched
    with the same pytest-bdd parsers the step library registers. ``type`` may be empty: any step type matches."""
    from pytest_bdd.steps import step_function_context_registry

    contexts = [c for c in list(step_function_context_registry.values()) if clause_of(c.step_func) is not None]
    found: list[Sentence] = []
    for line, kind, text in steps:
        context = next(
            (c for c in contexts if (not kind or c.type in (None, kind)) and c.parser.is_matching(text)), None
        )
        if context is None:
            found.append(Sentence(line, kind.capitalize(), text, matched=False))
            continue
        marked = clause_of(context.step_func)
        assert marked is not None
        parsed = context.parser.parse_arguments(text) or {}
        args = {k: context.converters.get(k, _same)(v) for k, v in parsed.items()}
        found.append(Sentence(line, kind.capitalize(), text, marked[0], {**args, **marked[1]}))
    return found


def _same(value: object) -> object:
    return value


def plan_from_text(feature: str, steps: Sequence[tuple[int, str]], *, line: int = 0, name: str = "") -> DrillPlan:
    """The plan of ``(line, "Given …")`` sentences held as text rather than in a feature file (tools and tests);
    ``And``/``But`` continue the step type before them, as in Gherkin."""
    typed: list[tuple[int, str, str]] = []
    kind = ""
    for number, text in steps:
        word, _, rest = text.partition(" ")
        if word in {"Given", "When", "Then"}:
            kind = word.lower()
        elif word not in {"And", "But", "*"}:
            rest = text
        typed.append((number, kind, rest))
    return compile_plan(feature, line, name, sentences_from_library(typed))
