"""Template helpers of the integration and maintenance pages."""

from zoneinfo import ZoneInfo

from django import template

from incidents.models import Recurrence

register = template.Library()

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@register.filter
def window_schedule(window) -> str:
    """“Sun 01:00 for 120 min, Europe/Berlin” or “2026-03-01 02:00 to 2026-03-01 04:00, Europe/Berlin”."""
    zone = window.time_zone or "UTC"
    tz = ZoneInfo(zone)
    if window.recurrence == Recurrence.ONCE:
        if not window.starts_at or not window.ends_at:
            return "—"
        start, end = window.starts_at.astimezone(tz), window.ends_at.astimezone(tz)
        return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}, {zone}"
    days = ", ".join(DAYS[d] for d in sorted(window.weekdays or []) if 0 <= d <= 6)
    start = window.start_time.strftime("%H:%M") if window.start_time else "?"
    text = f"Every {days} at {start} for {window.duration_minutes} min, {zone}"
    if window.starts_at or window.ends_at:
        since = f" from {window.starts_at.astimezone(tz):%Y-%m-%d}" if window.starts_at else ""
        until = f" until {window.ends_at.astimezone(tz):%Y-%m-%d}" if window.ends_at else ""
        text += since + until
    return text
