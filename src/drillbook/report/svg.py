"""A drill's SLO timeline as inline SVG: error rate and p95 latency against their thresholds.

Two panels share one time axis (seconds on the drill's stopwatch). The fault window is shaded, each
runbook step gets a numbered marker, and breach and restore are marked. Windows are downsampled by
keeping each bucket's *worst* value, so a short spike survives and a full game day stays small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from drillbook.journal import SloCheck, SloWindow
from drillbook.report.model import DrillSummary

WIDTH = 880
PANEL_H = 140
LEFT = 70
RIGHT = 20
TOP = 26
GAP = 46
BOTTOM = 44
MAX_POINTS = 240
"""Points per series: more than a 880-px-wide chart can show, few enough to keep 15 drills well under 2 MB."""

ERROR_METRICS = ("error_rate", "availability")
P95_METRICS = ("latency_p95", "latency")


@dataclass(frozen=True)
class Point:
    """One plotted sample: the worst values of a bucket of windows."""

    t: float
    error_pct: float
    p95_ms: float | None


@dataclass(frozen=True)
class Threshold:
    """A horizontal SLO line in a panel's units."""

    value: float
    label: str


def downsample(windows: list[SloWindow], max_points: int = MAX_POINTS) -> list[Point]:
    """Reduce windows to at most ``max_points``, keeping each bucket's worst error rate and p95."""
    if not windows:
        return []
    size = max(1, math.ceil(len(windows) / max_points))
    points: list[Point] = []
    for start in range(0, len(windows), size):
        bucket = windows[start : start + size]
        latencies = [w.p95_ms for w in bucket if w.p95_ms is not None and math.isfinite(w.p95_ms)]
        rates = [w.error_rate for w in bucket if math.isfinite(w.error_rate)]
        points.append(
            Point(t=bucket[-1].t, error_pct=max(rates, default=0.0) * 100, p95_ms=max(latencies, default=None))
        )
    return points


def error_threshold(check: SloCheck) -> Threshold | None:
    """An error-rate (or availability) check as a line in percent; ``None`` for other metrics."""
    if check.metric not in ERROR_METRICS:
        return None
    pct = check.threshold if check.unit == "%" else check.threshold * 100
    if check.metric == "availability":
        pct = 100 - pct
    return Threshold(pct, check.text or f"{check.metric} {check.op} {check.threshold:g}{check.unit}")


def p95_threshold(check: SloCheck) -> Threshold | None:
    """A p95 latency check as a line in milliseconds; ``None`` for other metrics."""
    if check.metric not in P95_METRICS:
        return None
    ms = check.threshold * 1000 if check.unit == "s" else check.threshold
    return Threshold(ms, check.text or f"{check.metric} {check.op} {check.threshold:g}{check.unit}")


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from zero to at least ``top``."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _fmt(value: float) -> str:
    # Enough digits for tick steps like 0.25, none of the float noise (0.30000000000000004).
    return f"{round(value, 3):f}".rstrip("0").rstrip(".")


class _Panel:
    """One panel's coordinate mapping."""

    def __init__(self, top: float, t_max: float, y_max: float) -> None:
        self.top = top
        self.t_max = t_max
        self.ticks = nice_ticks(y_max)
        self.y_max = self.ticks[-1]

    def x(self, t: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * min(max(t, 0.0), self.t_max) / self.t_max

    def y(self, v: float) -> float:
        return self.top + PANEL_H - PANEL_H * min(max(v, 0.0), self.y_max) / self.y_max


def timeline_svg(drill: DrillSummary, *, max_points: int = MAX_POINTS) -> str:
    """Render one drill's timeline as an ``<svg>`` element string (no external references)."""
    points = downsample(drill.windows, max_points)
    err_lines = [t for t in (error_threshold(c) for c in drill.checks) if t is not None]
    p95_lines = [t for t in (p95_threshold(c) for c in drill.checks) if t is not None]
    t_max = max([drill.last_t, 1.0] + [p.t for p in points])
    err_top = max([1.0] + [p.error_pct for p in points] + [t.value * 1.25 for t in err_lines])
    p95_top = max([10.0] + [p.p95_ms or 0.0 for p in points] + [t.value * 1.25 for t in p95_lines])
    err = _Panel(TOP, t_max, err_top)
    p95 = _Panel(TOP + PANEL_H + GAP, t_max, p95_top)
    height = TOP + 2 * PANEL_H + GAP + BOTTOM
    label = f"SLO timeline of {drill.drill}: error rate and p95 latency over {_fmt(t_max)} seconds"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
    ]
    parts += _fault_window(drill, err, p95)
    parts += _control_window(drill, err, p95)
    parts += _panel(err, "error rate (%)", [(p.t, p.error_pct) for p in points], err_lines, "error-rate")
    parts += _panel(p95, "p95 latency (ms)", [(p.t, p.p95_ms) for p in points], p95_lines, "p95")
    parts += _time_axis(p95)
    parts += _markers(drill, err, p95)
    if not points:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{TOP + PANEL_H / 2}" text-anchor="middle" class="empty">'
            "no traffic windows were journaled</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _panel(
    panel: _Panel, title: str, values: list[tuple[float, float | None]], lines: list[Threshold], css: str
) -> list[str]:
    bottom = panel.top + PANEL_H
    out = [
        f'<rect x="{LEFT}" y="{panel.top}" width="{WIDTH - LEFT - RIGHT}" height="{PANEL_H}" class="plot"/>',
        f'<text x="14" y="{panel.top + PANEL_H / 2:.1f}" class="axis-label" text-anchor="middle" '
        f'transform="rotate(-90 14 {panel.top + PANEL_H / 2:.1f})">{escape(title)}</text>',
    ]
    for tick in panel.ticks:
        y = panel.y(tick)
        out.append(f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 7}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(tick)}</text>')
    out.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" class="axis"/>')
    for segment in _segments(values):
        coords = " ".join(f"{panel.x(t):.1f},{panel.y(v):.1f}" for t, v in segment)
        out.append(f'<polyline points="{coords}" class="series {css}"/>')
    for line in lines:
        y = panel.y(line.value)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="threshold">'
            f"<title>SLO: {escape(line.label)}</title></line>"
        )
        out.append(
            f'<text x="{WIDTH - RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end" class="threshold-label">'
            f"SLO: {escape(line.label)}</text>"
        )
    return out


def _segments(values: list[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Split a series where values are missing, so a gap is drawn as a gap and not as a line."""
    segments: list[list[tuple[float, float]]] = [[]]
    for t, v in values:
        if v is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((t, v))
    # A single point is a polyline nobody can see: widen it to a tiny horizontal dash.
    return [s if len(s) > 1 else [s[0], (s[0][0] + 1e-6, s[0][1])] for s in segments if s]


def _time_axis(panel: _Panel) -> list[str]:
    bottom = panel.top + PANEL_H
    out = []
    for tick in nice_ticks(panel.t_max, 8):
        if tick > panel.t_max:
            break
        x = panel.x(tick)
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" class="axis"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" class="tick">{_fmt(tick)}</text>')
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{bottom + 36}" text-anchor="middle" class="axis-label">'
        "seconds since the drill started</text>"
    )
    return out


def _fault_window(drill: DrillSummary, err: _Panel, p95: _Panel) -> list[str]:
    window = drill.fault_window
    if window is None:
        return []
    x0, x1 = err.x(window[0]), err.x(window[1])
    title = f"fault {drill.fault} active from t={_fmt(window[0])} s to t={_fmt(window[1])} s"
    out = []
    for panel in (err, p95):
        out.append(
            f'<rect x="{x0:.1f}" y="{panel.top}" width="{max(x1 - x0, 1.0):.1f}" height="{PANEL_H}" '
            f'class="fault-window"><title>{escape(title)}</title></rect>'
        )
    out.append(f'<text x="{x0 + 3:.1f}" y="{err.top - 6}" class="fault-label">fault: {escape(drill.fault)}</text>')
    return out


def _control_window(drill: DrillSummary, err: _Panel, p95: _Panel) -> list[str]:
    """The do-nothing control window, hatched, when this drill ran it."""
    control = drill.control
    if control is None or control.cached or control.t_start is None or control.t_end is None:
        return []
    x0, x1 = err.x(control.t_start), err.x(control.t_end)
    healed = "healed by itself" if control.self_healed else "did not heal"
    title = f"control run: no response from t={_fmt(control.t_start)} s to t={_fmt(control.t_end)} s ({healed})"
    out = [
        f'<rect x="{x0:.1f}" y="{panel.top}" width="{max(x1 - x0, 1.0):.1f}" height="{PANEL_H}" '
        f'class="control-window"><title>{escape(title)}</title></rect>'
        for panel in (err, p95)
    ]
    out.append(f'<text x="{x0 + 3:.1f}" y="{err.top + 12}" class="control-label">control: no response</text>')
    return out


def _vline(x: float, err: _Panel, p95: _Panel, css: str, title: str) -> str:
    return (
        f'<line x1="{x:.1f}" y1="{err.top}" x2="{x:.1f}" y2="{p95.top + PANEL_H}" class="{css}">'
        f"<title>{escape(title)}</title></line>"
    )


def _markers(drill: DrillSummary, err: _Panel, p95: _Panel) -> list[str]:
    out = []
    labelled: set[int] = set()
    for row in drill.steps:
        x = err.x(row.t_start)
        title = f"step {row.step}: {row.title} — {row.as_run or row.as_written} ({row.decision.value})"
        out.append(_vline(x, err, p95, "step-marker", title))
        if row.step not in labelled:
            labelled.add(row.step)
            out.append(
                f'<text x="{x:.1f}" y="{p95.top - 6}" text-anchor="middle" class="step-label">{row.step}'
                f"<title>{escape(title)}</title></text>"
            )
    for breach in drill.breaches:
        x = err.x(breach.t)
        out.append(_vline(x, err, p95, "breach-marker", f"SLO breached at t={_fmt(breach.t)} s: {breach.check}"))
        out.append(f'<text x="{x + 3:.1f}" y="{err.top + 12}" class="breach-label">breach</text>')
    for restore in drill.restores:
        x = err.x(restore.t)
        out.append(_vline(x, err, p95, "restore-marker", f"SLO restored at t={_fmt(restore.t)} s: {restore.check}"))
        out.append(f'<text x="{x + 3:.1f}" y="{err.top + 24}" class="restore-label">restored</text>')
    return out
