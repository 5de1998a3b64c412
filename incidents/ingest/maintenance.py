"""Is a maintenance window active at an instant, and does it cover an alert?

Weekly windows are laid out in their own time zone with wall-clock arithmetic: an occurrence starts
at ``start_time`` local on one of ``weekdays`` and ends ``duration_minutes`` of wall-clock time later,
each end converted to UTC on its own. So a 01:00-03:00 window stays 01:00-03:00 local on the nights
the clocks change (two real hours, or four). A wall time the spring-forward jump skips names the jump
itself, the first instant that exists after it; a wall time the fall-back repeats starts a window at
its first occurrence and ends one at its second, so the window covers the whole repeated hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from incidents.ingest.matching import matches
from incidents.models import MaintenanceWindow, Recurrence


def to_utc(wall: datetime, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """The instant a local wall-clock time names (see the module doc for skipped and repeated times)."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first <= second:  # an ordinary time (equal) or a repeated one (first before second)
        return second if end else first
    # Skipped: fold=0 reads it with the offset before the jump (an instant after it), fold=1 with the
    # offset after (an instant before it). The jump lies between; find it to the minute.
    after_offset = tz.utcoffset(first.astimezone(tz).replace(tzinfo=None))
    low, high = second, first
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return high.replace(second=0, microsecond=0) if high.second or high.microsecond else high


def occurrence_around(window: MaintenanceWindow, at: datetime) -> tuple[datetime, datetime] | None:
    """The weekly occurrence (start, end in UTC) containing ``at``, or None."""
    tz = ZoneInfo(window.time_zone or "UTC")
    local_day = at.astimezone(tz).date()
    span_days = (window.duration_minutes or 0) // (24 * 60) + 1
    days = set(window.weekdays or [])
    for back in range(span_days + 1):
        day = local_day - timedelta(days=back)
        if day.weekday() not in days:
            continue
        start_wall = datetime.combine(day, window.start_time)
        end_wall = start_wall + timedelta(minutes=window.duration_minutes)
        start, end = to_utc(start_wall, tz), to_utc(end_wall, tz, end=True)
        if start <= at < end:
            return start, end
    return None


def is_active(window: MaintenanceWindow, at: datetime) -> bool:
    if not window.enabled:
        return False
    if window.recurrence == Recurrence.ONCE:
        return window.starts_at is not None and window.starts_at <= at < window.ends_at
    if window.starts_at and at < window.starts_at:
        return False
    if window.ends_at and at >= window.ends_at:
        return False
    return occurrence_around(window, at) is not None


def next_occurrence(window: MaintenanceWindow, after: datetime) -> tuple[datetime, datetime] | None:
    """The next start of a window at or after ``after`` (for the pages), within two weeks."""
    if window.recurrence == Recurrence.ONCE:
        return (window.starts_at, window.ends_at) if window.ends_at and window.ends_at > after else None
    tz = ZoneInfo(window.time_zone or "UTC")
    local_day = after.astimezone(tz).date()
    for ahead in range(-1, 15):
        day = local_day + timedelta(days=ahead)
        if day.weekday() not in set(window.weekdays or []):
            continue
        start_wall = datetime.combine(day, window.start_time)
        start = to_utc(start_wall, tz)
        end = to_utc(start_wall + timedelta(minutes=window.duration_minutes), tz, end=True)
        if end > after and (not window.ends_at or start < window.ends_at):
            return start, end
    return None


def candidate_windows(organization_id, at: datetime) -> list[MaintenanceWindow]:
    """Windows that may be active at ``at``: one query; weekly ones are settled in Python."""
    return list(
        MaintenanceWindow.objects.filter(organization_id=organization_id, enabled=True)
        .filter(
            Q(recurrence=Recurrence.ONCE, starts_at__lte=at, ends_at__gt=at)
            | (
                Q(recurrence=Recurrence.WEEKLY)
                & (Q(starts_at__isnull=True) | Q(starts_at__lte=at))
                & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))
            )
        )
        .order_by("pk")
    )


def covering_window(windows, event, *, service_id, labels, severity, at) -> MaintenanceWindow | None:
    """The first active window that covers the routed alert."""
    for window in windows:
        if window.service_id is not None and window.service_id != service_id:
            continue
        if window.service_id is None and not window.matchers:
            continue  # an unscoped window would silence the whole organization: never by accident
        if window.matchers and not matches(window.matchers, event, labels=labels, severity=severity):
            continue
        if is_active(window, at):
            return window
    return None
