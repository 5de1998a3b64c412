"""Server-rendered SVG charts: one small renderer every page uses the same way.

A chart is data (:class:`Chart` with its :class:`Series`); :func:`render` turns it into inline SVG
coloured by the design system's tokens (``--series-1`` … ``--series-6``, ``--sev1`` … ``--sev4``)
through ``style="…: var(--token)"``, so a theme change recolours every chart. Each chart carries a
``<title>`` and ``<desc>`` (named by ``aria-labelledby``) and its numbers as a table hidden with
``.sr-only``: a screen reader reads the data, not the drawing. No JavaScript, nothing fetched.

Kinds:

* ``line``: a trend per series over the x labels (days); a ``None`` value breaks the line.
* ``bar``: vertical bars per x label; several series stack (volume by severity per day).
* ``hbar``: horizontal bars, one row per label (a ranking: services, responders); several series stack.

Values are formatted by ``unit``: ``count`` (1,234 / 12k), ``duration`` (seconds → "4 min", "2.5 h")
or ``ratio`` (0-1 → "95%").
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import format_html
from django.utils.safestring import SafeString

KINDS = ("line", "bar", "hbar")
UNITS = ("count", "duration", "ratio")
DEFAULT_COLORS = tuple(f"--series-{n}" for n in range(1, 7))
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str = ""  # a CSS custom property, e.g. "--sev1"; default: the next --series-N


@dataclass(frozen=True)
class Chart:
    kind: str
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    description: str = ""
    unit: str = "count"
    width: int = 640
    height: int = 240
    colors: tuple[str, ...] = field(default=DEFAULT_COLORS)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"chart kind must be one of {KINDS}, not {self.kind!r}")
        if self.unit not in UNITS:
            raise ValueError(f"chart unit must be one of {UNITS}, not {self.unit!r}")
        for one in self.series:
            if len(one.values) != len(self.labels):
                raise ValueError(
                    f"series {one.name!r} has {len(one.values)} values for {len(self.labels)} labels"
                )


# --- numbers -----------------------------------------------------------------------------------

NO_VALUE = "\u2013"  # an en dash: "no figure", distinct from a zero


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        hours = seconds / 3600
        return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
    return f"{seconds / 86400:.1f} d"


def _count(value: float) -> str:
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:.1f}"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return NO_VALUE
    if unit == "ratio":
        percent = value * 100
        return f"{percent:.0f}%" if percent == round(percent) else f"{percent:.1f}%"
    if unit == "duration":
        return _duration(float(value))
    return _count(value)


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """0 up to a round number at or above ``maximum``, in steps of 1, 2, 2.5 or 5 times a power of ten."""
    if maximum <= 0 or math.isnan(maximum):
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    top = step * math.ceil(maximum / step - 1e-9)
    return [round(step * n, 10) for n in range(round(top / step) + 1)]


# --- drawing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """The plot area inside the drawing, and the value scale."""

    left: float
    top: float
    width: float
    height: float
    scale: float

    def y(self, value: float) -> float:
        return self.top + self.height - value * self.scale


def _color(chart: Chart, index: int) -> str:
    token = chart.series[index].color or chart.colors[index % len(chart.colors)]
    return f"var({token})"


def _chart_id(chart: Chart) -> str:
    digest = hashlib.sha1(  # noqa: S324 - an element id, not a secret
        f"{chart.kind}|{chart.title}|{'|'.join(chart.labels)}".encode()
    ).hexdigest()
    return f"chart-{digest[:10]}"


def _legend_height(chart: Chart) -> int:
    return 22 if len(chart.series) > 1 else 6


def _legend(chart: Chart) -> list[str]:
    if len(chart.series) < 2:
        return []
    parts, x = [], 0.0
    for index, one in enumerate(chart.series):
        parts.append(
            format_html(
                '<rect x="{}" y="2" width="10" height="10" rx="2" style="fill:{}"></rect>'
                '<text x="{}" y="11">{}</text>',
                f"{x:.1f}",
                _color(chart, index),
                f"{x + 14:.1f}",
                one.name,
            )
        )
        x += 24 + 6.5 * len(one.name)
    return parts


def _stack_totals(chart: Chart) -> list[float]:
    return [sum(one.values[i] or 0 for one in chart.series) for i in range(len(chart.labels))]


def _peak(chart: Chart) -> float:
    if chart.kind != "line":
        return max(_stack_totals(chart), default=0)
    return max((v for one in chart.series for v in one.values if v is not None), default=0)


def _axes(chart: Chart, frame: _Frame, ticks: list[float], slot: float) -> list[str]:
    parts = []
    for tick in ticks:
        y = frame.y(tick)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" style="stroke:var(--line)"></line>'
                '<text x="{}" y="{}" text-anchor="end">{}</text>',
                frame.left,
                frame.left + frame.width,
                f"{y:.1f}",
                f"{y:.1f}",
                frame.left - 6,
                f"{y + 4:.1f}",
                format_value(tick, chart.unit),
            )
        )
    # At most MAX_X_LABELS labels under the axis, evenly spaced: a year of days stays readable.
    every = max(1, math.ceil(len(chart.labels) / MAX_X_LABELS))
    for i, label in enumerate(chart.labels):
        if i % every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle">{}</text>',
                    f"{frame.left + slot * (i + 0.5):.1f}",
                    chart.height - 8,
                    label,
                )
            )
    return parts


def _bars(chart: Chart, frame: _Frame, slot: float) -> list[str]:
    parts = []
    base = [0.0] * len(chart.labels)
    width = max(slot * 0.7, 1)
    for index, one in enumerate(chart.series):
        for i, value in enumerate(one.values):
            if not value:
                continue
            top = frame.y(base[i] + value)
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" style="fill:{}">'
                    "<title>{}: {} {}</title></rect>",
                    f"{frame.left + slot * i + (slot - width) / 2:.1f}",
                    f"{top:.1f}",
                    f"{width:.1f}",
                    f"{value * frame.scale:.1f}",
                    _color(chart, index),
                    chart.labels[i],
                    one.name,
                    format_value(value, chart.unit),
                )
            )
            base[i] += value
    return parts


def _runs(values, frame: _Frame, slot: float) -> list[list[tuple[float, float]]]:
    """The points of a line, split where a value is missing (no figure is not zero)."""
    runs, run = [], []
    for i, value in enumerate(values):
        if value is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append((frame.left + slot * (i + 0.5), frame.y(value)))
    if run:
        runs.append(run)
    return runs


def _lines(chart: Chart, frame: _Frame, slot: float) -> list[str]:
    parts = []
    for index, one in enumerate(chart.series):
        color = _color(chart, index)
        for points in _runs(one.values, frame, slot):
            if len(points) == 1:
                x, y = points[0]
                parts.append(
                    format_html(
                        '<circle cx="{}" cy="{}" r="3" style="fill:{}"></circle>',
                        f"{x:.1f}",
                        f"{y:.1f}",
                        color,
                    )
                )
            else:
                parts.append(
                    format_html(
                        '<polyline points="{}" style="fill:none;stroke:{};stroke-width:2"></polyline>',
                        " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
                        color,
                    )
                )
    return parts


def _vertical(chart: Chart) -> list[str]:
    top, bottom, left, right = _legend_height(chart), 26, 52, 10
    plot_h = chart.height - top - bottom
    ticks = nice_ticks(_peak(chart))
    frame = _Frame(left, top, chart.width - left - right, plot_h, plot_h / ticks[-1])
    slot = frame.width / max(len(chart.labels), 1)
    draw = _bars if chart.kind == "bar" else _lines
    return [*_legend(chart), *_axes(chart, frame, ticks, slot), *draw(chart, frame, slot)]


HBAR_ROW = 22


def _horizontal(chart: Chart) -> list[str]:
    top, left, right = _legend_height(chart), 150, 56
    plot_w = chart.width - left - right
    totals = _stack_totals(chart)
    peak = max(totals, default=0) or 1
    parts = _legend(chart)
    for i, label in enumerate(chart.labels):
        y = top + i * HBAR_ROW
        short = label if len(label) <= 22 else label[:21] + "\u2026"
        parts.append(format_html('<text x="{}" y="{}" text-anchor="end">{}</text>', left - 6, y + 15, short))
        x = float(left)
        for index, one in enumerate(chart.series):
            value = one.values[i] or 0
            if not value:
                continue
            w = plot_w * value / peak
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="16" style="fill:{}">'
                    "<title>{}: {} {}</title></rect>",
                    f"{x:.1f}",
                    y + 3,
                    f"{w:.1f}",
                    _color(chart, index),
                    label,
                    one.name,
                    format_value(value, chart.unit),
                )
            )
            x += w
        total = (
            format_value(totals[i], chart.unit)
            if any(one.values[i] is not None for one in chart.series)
            else NO_VALUE
        )
        parts.append(format_html('<text x="{}" y="{}">{}</text>', f"{x + 4:.1f}", y + 15, total))
    return parts


def _join(parts) -> SafeString:
    """Parts that each went through ``format_html`` (so are escaped), joined."""
    return SafeString("".join(parts))


def _table(chart: Chart, chart_id: str) -> SafeString:
    head = _join(format_html('<th scope="col">{}</th>', one.name) for one in chart.series)
    rows = _join(
        format_html(
            '<tr><th scope="row">{}</th>{}</tr>',
            label,
            _join(
                format_html("<td>{}</td>", format_value(one.values[i], chart.unit)) for one in chart.series
            ),
        )
        for i, label in enumerate(chart.labels)
    )
    return format_html(
        '<table class="sr-only" id="{}-data"><caption>{}</caption>'
        '<thead><tr><th scope="col"></th>{}</tr></thead><tbody>{}</tbody></table>',
        chart_id,
        chart.title,
        head,
        rows,
    )


def render(chart: Chart) -> SafeString:
    chart_id = _chart_id(chart)
    height = chart.height
    if chart.kind == "hbar":
        height = _legend_height(chart) + HBAR_ROW * max(len(chart.labels), 1) + 4
    drawing = _horizontal(chart) if chart.kind == "hbar" else _vertical(chart)
    empty = not chart.labels or all(not v for one in chart.series for v in one.values)
    description = chart.description or ("No data in this range." if empty else chart.title)
    svg = format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" aria-labelledby="{}-title {}-desc" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{}-title">{}</title><desc id="{}-desc">{}</desc>'
        "{}</svg>",
        chart.width,
        height,
        chart_id,
        chart_id,
        chart_id,
        chart.title,
        chart_id,
        description,
        _join(drawing),
    )
    return format_html(
        '<div class="chart-box" data-chart="{}">{}{}</div>', chart.kind, svg, _table(chart, chart_id)
    )
