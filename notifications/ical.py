"""On-call and notifications: iCalendar (RFC 5545) rendering of on-call shifts. Times are written in
UTC (``…Z``): every calendar application converts them to its viewer's zone, and no VTIMEZONE block
can go stale."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from notifications import oncall
from notifications.models import Schedule
from opsplatform.accounts.models import User

PRODID = "-//OpsPlatform//On-call//EN"


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        # A lone CR ends a content line for some readers: a name could add its own properties.
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 §3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _uid(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32] + "@opsplatform"


def render_calendar(name: str, events: list[Event]) -> str:
    now = _stamp(timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{now}",
            f"DTSTART:{_stamp(event.start)}",
            f"DTEND:{_stamp(event.end)}",
            f"SUMMARY:{_escape(event.summary)}",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{_escape(event.description)}")
        lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def schedule_events(schedule: Schedule, start: datetime, end: datetime) -> list[Event]:
    snap = oncall.snapshot(schedule, start, end)
    segments = [seg for seg in oncall.timeline(snap, start, end) if not seg.is_gap]
    users = {u.pk: u for u in User.objects.filter(pk__in={s.user_id for s in segments})}
    return [
        Event(
            uid=_uid("schedule", schedule.pk, seg.user_id, seg.start.isoformat()),
            start=seg.start,
            end=seg.end,
            summary=f"{users[seg.user_id].username} on call ({schedule.name})",
            description="Override" if seg.source == "override" else "",
        )
        for seg in segments
    ]


def user_events(organization, user, start: datetime, end: datetime) -> list[Event]:
    events = []
    for schedule in Schedule.objects.for_organization(organization).select_related("team"):
        snap = oncall.snapshot(schedule, start, end)
        for seg in oncall.user_shifts(snap, user.pk, start, end):
            events.append(
                Event(
                    uid=_uid("user", user.pk, schedule.pk, seg.start.isoformat()),
                    start=seg.start,
                    end=seg.end,
                    summary=f"On call: {schedule.name}",
                    description=f"{schedule.team.name} · {organization.name}",
                )
            )
    return sorted(events, key=lambda e: e.start)
