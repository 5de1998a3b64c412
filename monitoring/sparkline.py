"""A tiny inline SVG line of recent latencies for list rows (the chart module draws full-size charts)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import mark_safe

WIDTH, HEIGHT = 120, 24


def sparkline(values: list[float | None], label: str) -> str:
    points = [v for v in values if v is not None]
    if len(points) < 2:
        return mark_safe('<span class="muted">—</span>')
    peak = max(points) or 1.0
    step = WIDTH / (len(values) - 1)
    runs, current = [], []
    for i, value in enumerate(values):
        if value is None:  # a failed check breaks the line, as on the full charts
            if current:
                runs.append(current)
            current = []
            continue
        current.append(f"{i * step:.1f},{HEIGHT - 2 - (value / peak) * (HEIGHT - 4):.1f}")
    if current:
        runs.append(current)
    lines = "".join(
        f'<polyline points="{" ".join(run)}" fill="none" stroke-width="1.5" style="stroke: var(--series-1)"/>'
        for run in runs
        if len(run) > 1
    )
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="{}">{}</svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        label,
        mark_safe(lines),  # noqa: S308 - numbers and constant markup only
    )
