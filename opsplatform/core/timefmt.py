"""Durations and relative times as people read them — never "0 minutes ago".

The same rules run in static/js/app.js to keep rendered times fresh; change both together.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def short_duration(seconds: int) -> str:
    seconds = abs(int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" if minutes >= 10 or not secs else f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _coarse(seconds: int) -> str:
    """One unit, rounded down: how far away something is, at a glance."""
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def relative_text(value: datetime, now: datetime) -> str:
    delta = int((now - value).total_seconds())
    if abs(delta) < 60:
        return "just now" if delta >= 0 else "in under a minute"
    if abs(delta) >= 30 * 86400:
        return timezone.localtime(value).strftime("%Y-%m-%d")
    return f"{_coarse(delta)} ago" if delta > 0 else f"in {_coarse(-delta)}"


def countdown_text(deadline: datetime, now: datetime) -> str:
    left = int((deadline - now).total_seconds())
    if left <= 0:
        return f"overdue by {short_duration(-left)}"
    return f"{short_duration(left)} left"
