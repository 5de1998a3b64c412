"""The schedule page's timeline: one row per layer (its own rotation, restrictions applied) above the
final row (who is actually on call after priorities, swaps and overrides), over a window of 1 day,
1 week or 2 weeks starting at a local midnight of the team's time zone.

Positions are percentages of the window measured in real (UTC) time, so a 23- or 25-hour day on a
daylight-saving change is drawn as long as it lasts; ticks sit at local wall-clock instants.
The header summary is made from the same layer list the rows are, so it cannot disagree with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from notifications import oncall
from notifications.models import RotationKind, Schedule
from notifications.selectors import users_by_id
from notifications.templatetags.oncall import person_colour, weekdays
from opsplatform.accounts.models import User

WINDOWS = {"1d": 1, "1w": 7, "2w": 14}
WINDOW_LABELS = {"1d": "1 day", "1w": "1 week", "2w": "2 weeks"}
DEFAULT_WINDOW = "1w"


@dataclass
class Block:
    """One stretch of a row, positioned in percent of the window."""

    start: datetime
    end: datetime
    user: User | None
    source: str  # "layer", "override", "swap", or "" for nobody
    left: float
    width: float
    colour: int

    @property
    def is_gap(self) -> bool:
        return self.user is None


@dataclass
class Row:
    key: str  # "layer-<id>" or "final"
    label: str
    description: str
    blocks: list[Block]
    layer_id: int | None = None


@dataclass
class Tick:
    left: float
    label: str
    major: bool  # a day boundary (a full-height line)
    day: date | None = None
    short: str = ""  # the label on a phone


@dataclass
class LayerSummary:
    id: int
    name: str
    priority: int
    rotation: str  # "Weekly, handoff Mon 09:00"
    start_date: date
    people: list[User]
    restrictions: list[str]  # "Mon-Fri 09:00-17:00"


@dataclass
class ScheduleTimeline:
    window: str
    first_day: date
    start: datetime
    end: datetime
    time_zone: str
    layers: list[LayerSummary]
    layer_rows: list[Row]
    final: Row
    ticks: list[Tick]
    now_left: float | None
    legend: list[tuple[User, int]]
    gaps: list[oncall.Segment]

    @property
    def previous_day(self) -> date:
        return self.first_day - timedelta(days=WINDOWS[self.window])

    @property
    def next_day(self) -> date:
        return self.first_day + timedelta(days=WINDOWS[self.window])


def parse_window(value) -> str:
    return value if value in WINDOWS else DEFAULT_WINDOW


def parse_day(value, today: date) -> date:
    """``YYYY-MM-DD`` from the URL; anything unreadable or out of the computable range is today."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return today
    if not oncall.FIRST_DATE < day < oncall.LAST_DATE - timedelta(days=30):
        return today
    return day


def rotation_text(layer: oncall.LayerRules) -> str:
    handoff = layer.handoff_time.strftime("%H:%M")
    if layer.rotation == RotationKind.DAILY:
        return f"Daily, handoff {handoff}"
    if layer.rotation == RotationKind.WEEKLY:
        return f"Weekly, handoff {layer.start_date.strftime('%a')} {handoff}"
    return f"Every {layer.length.total_seconds() / 3600:g} h from {handoff}"


def restriction_text(rule: oncall.Restriction) -> str:
    return f"{weekdays(rule.days)} {rule.start.strftime('%H:%M')}-{rule.end.strftime('%H:%M')}"


def build(schedule: Schedule, *, window: str, first_day: date | None = None, at=None) -> ScheduleTimeline:
    tz = ZoneInfo(schedule.team.time_zone)
    at = at or timezone.now()
    first_day = first_day or at.astimezone(tz).date()
    days = WINDOWS[window]
    midnights = [
        oncall.localize(datetime.combine(first_day + timedelta(days=n), datetime.min.time()), tz)
        for n in range(days + 1)
    ]
    start, end = midnights[0], midnights[-1]
    span = (end - start).total_seconds()

    def pct(instant: datetime) -> float:
        return round((instant - start).total_seconds() / span * 100, 3)

    snap = oncall.snapshot(schedule, start, end)
    # Highest priority first: the top row is the layer that wins where it has somebody.
    ordered = sorted(snap.layers, key=lambda item: (item.priority, item.id), reverse=True)
    per_layer = {layer.id: _merged(oncall.layer_intervals(layer, tz, start, end)) for layer in ordered}
    final_segments = oncall.timeline(snap, start, end)
    user_ids = {uid for layer in ordered for uid in layer.user_ids}
    user_ids |= {seg.user_id for seg in final_segments if seg.user_id}
    users = users_by_id(user_ids)
    # A person keeps one colour on every row and every window: by id, not by position in the window.
    colours = {uid: person_colour(uid) for uid in users}

    def block(lo, hi, user_id, source) -> Block:
        return Block(
            start=lo,
            end=hi,
            user=users.get(user_id) if user_id else None,
            source=source,
            left=pct(lo),
            width=round(pct(hi) - pct(lo), 3),
            colour=colours.get(user_id, 0),
        )

    layer_rows = [
        Row(
            key=f"layer-{layer.id}",
            label=layer.name,
            description=rotation_text(layer),
            blocks=[block(lo, hi, uid, "layer") for lo, hi, uid in per_layer[layer.id]],
            layer_id=layer.id,
        )
        for layer in ordered
    ]
    final = Row(
        key="final",
        label="Final schedule",
        description="after overrides and swaps",
        blocks=[
            block(seg.start, seg.end, seg.user_id, "layer" if seg.source.startswith("layer:") else seg.source)
            for seg in final_segments
        ],
    )
    summaries = [
        LayerSummary(
            id=layer.id,
            name=layer.name,
            priority=layer.priority,
            rotation=rotation_text(layer),
            start_date=layer.start_date,
            people=[users[uid] for uid in layer.user_ids if uid in users],
            restrictions=[restriction_text(rule) for rule in layer.restrictions],
        )
        for layer in ordered
    ]
    legend = sorted(((users[uid], colours[uid]) for uid in users), key=lambda item: item[0].username)
    return ScheduleTimeline(
        window=window,
        first_day=first_day,
        start=start,
        end=end,
        time_zone=schedule.team.time_zone,
        layers=summaries,
        layer_rows=layer_rows,
        final=final,
        ticks=_ticks(first_day, days, tz, pct),
        now_left=pct(at) if start <= at < end else None,
        legend=legend,
        gaps=oncall.gaps(final_segments),
    )


def _merged(intervals) -> list[tuple[datetime, datetime, int]]:
    """Back-to-back shifts of the same person (a one-person rotation) drawn as one block."""
    merged: list[list] = []
    for lo, hi, uid in sorted(intervals):
        if merged and merged[-1][1] == lo and merged[-1][2] == uid:
            merged[-1][1] = hi
        else:
            merged.append([lo, hi, uid])
    return [tuple(item) for item in merged]


def _ticks(first_day: date, days: int, tz: ZoneInfo, pct) -> list[Tick]:
    # Hours between labelled ticks: every 3 h on one day, noon on a week, none on two weeks.
    step = {1: 3, 7: 12}.get(days)
    ticks = []
    for n in range(days):
        day = first_day + timedelta(days=n)
        midnight = oncall.localize(datetime.combine(day, datetime.min.time()), tz)
        label = day.strftime("%a %-d %b" if days <= 7 else "%a %-d")
        ticks.append(Tick(left=pct(midnight), label=label, major=True, day=day, short=day.strftime("%-d")))
        for hour in range(step, 24, step) if step else ():
            instant = oncall.localize(datetime.combine(day, datetime.min.time()) + timedelta(hours=hour), tz)
            ticks.append(Tick(left=pct(instant), label=f"{hour:02d}:00", major=False))
    return ticks
