"""On-call and notifications: who is on call, at any instant and over any range, computed from a
schedule's rules.

Everything is returned in UTC; the rules are read on the team's wall clock with ``zoneinfo``:

* A layer's shifts start at ``start_date + handoff_time`` local time and repeat every day, week or N
  hours **of wall-clock time**. A daily 09:00 handoff stays at 09:00 when clocks change; that day's
  shift is 23 or 25 hours long.
* A local time that does not exist (the spring-forward gap) is read with the offset in force before
  the change (``fold=0``), so a 02:30 handoff on that night happens at 03:30 new time. A local time
  that happens twice (autumn) means its first occurrence.
* Restrictions limit a layer to windows of local time on given weekdays.
* Per instant, the highest-priority layer with somebody on call wins; then shift swaps apply; then
  overrides (the latest created wins where overrides overlap).

The computation is pure: :func:`snapshot` reads a schedule once, and the functions below work on
that snapshot, so the escalation tick can evaluate many incidents against one read.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from notifications.models import CoverStatus, RotationKind, Schedule

DEFAULT_NEXT_HORIZON = timedelta(days=60)

# The instants schedules are computed over, and the dates their rules may hold. Wide enough for any
# real rotation, narrow enough that a shift or a search window after them stays a valid datetime
# (one at year 9999 overflows); the services refuse rules outside them, reads skip stored ones.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
FIRST_DATE = EARLIEST.date()
LAST_DATE = LATEST.date() - timedelta(days=1)
MAX_SHIFT_HOURS = 24 * 28
# Real UTC offsets run from -12:00 to +14:00; anything else is a typo, not a zone.
MAX_OFFSET_WEST = timedelta(hours=-12)
MAX_OFFSET_EAST = timedelta(hours=14)


def in_range(instant: datetime) -> bool:
    """``instant`` (aware) is one schedules can be asked about: in [EARLIEST, LATEST), with an offset
    some place on Earth uses."""
    offset = instant.utcoffset()
    if offset is None or not MAX_OFFSET_WEST <= offset <= MAX_OFFSET_EAST:
        return False
    return EARLIEST <= instant < LATEST


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    user_id: int | None  # None: nobody on call (a gap)
    source: str = ""  # "layer:<id>", "override", "swap" or "" for a gap

    @property
    def is_gap(self) -> bool:
        return self.user_id is None

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class Restriction:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time  # at or before start: the window runs past midnight


@dataclass(frozen=True)
class LayerRules:
    id: int
    name: str
    priority: int
    rotation: str
    shift_hours: int | None
    start_date: date
    handoff_time: time
    user_ids: tuple[int, ...]
    restrictions: tuple[Restriction, ...] = ()

    @property
    def length(self) -> timedelta:
        if self.rotation == RotationKind.DAILY:
            return timedelta(days=1)
        if self.rotation == RotationKind.WEEKLY:
            return timedelta(days=7)
        return timedelta(hours=max(int(self.shift_hours or 24), 1))


@dataclass(frozen=True)
class OverrideRule:
    start: datetime
    end: datetime
    user_id: int
    replaces_id: int | None = None


@dataclass(frozen=True)
class SwapRule:
    start: datetime
    end: datetime
    first_id: int
    second_id: int


@dataclass(frozen=True)
class ScheduleSnapshot:
    time_zone: str
    layers: tuple[LayerRules, ...]
    overrides: tuple[OverrideRule, ...] = ()
    swaps: tuple[SwapRule, ...] = ()
    schedule_id: int | None = None
    _tz: ZoneInfo = field(default=None, compare=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return self._tz or ZoneInfo(self.time_zone)


# --- reading a schedule ------------------------------------------------------------------------


def parse_restrictions(raw) -> tuple[Restriction, ...]:
    """Restrictions as stored (JSON) → rules. The services validate before storing."""
    result = []
    for item in raw or ():
        result.append(
            Restriction(
                days=frozenset(int(d) for d in item.get("days", range(7))),
                start=time.fromisoformat(item["start"]),
                end=time.fromisoformat(item["end"]),
            )
        )
    return tuple(result)


def _computable(layer) -> bool:
    """A stored layer whose rules the computation can follow. The services refuse the others; rows
    stored before they did are left out of every read rather than breaking it (invariant 14)."""
    if not FIRST_DATE <= layer.start_date <= LAST_DATE:
        return False
    if layer.rotation == RotationKind.CUSTOM and not 1 <= (layer.shift_hours or 24) <= MAX_SHIFT_HOURS:
        return False
    try:
        parse_restrictions(layer.restrictions)
    except (TypeError, ValueError, KeyError, AttributeError):
        return False
    return True


def snapshot(
    schedule: Schedule, start: datetime | None = None, end: datetime | None = None
) -> ScheduleSnapshot:
    """Everything needed to compute ``schedule`` over [start, end) (all overrides and swaps without a
    range), in a fixed number of queries."""
    layers = []
    for layer in schedule.layers.prefetch_related("participants").order_by("priority", "id"):
        if not _computable(layer):
            continue
        layers.append(
            LayerRules(
                id=layer.pk,
                name=layer.name,
                priority=layer.priority,
                rotation=layer.rotation,
                shift_hours=layer.shift_hours,
                start_date=layer.start_date,
                handoff_time=layer.handoff_time,
                user_ids=tuple(p.user_id for p in layer.participants.all()),
                restrictions=parse_restrictions(layer.restrictions),
            )
        )
    # A proposed cover changes nobody's shifts until the person it gives them to accepts it.
    overrides = schedule.overrides.filter(status=CoverStatus.ACTIVE).order_by("created_at", "id")
    swaps = schedule.swaps.filter(status=CoverStatus.ACTIVE).order_by("created_at", "id")
    if start is not None and end is not None:
        overrides = overrides.filter(ends_at__gt=start, starts_at__lt=end)
        swaps = swaps.filter(ends_at__gt=start, starts_at__lt=end)
    return ScheduleSnapshot(
        time_zone=schedule.team.time_zone,
        layers=tuple(layers),
        overrides=tuple(OverrideRule(o.starts_at, o.ends_at, o.user_id, o.replaces_id) for o in overrides),
        swaps=tuple(SwapRule(s.starts_at, s.ends_at, s.first_user_id, s.second_user_id) for s in swaps),
        schedule_id=schedule.pk,
        _tz=ZoneInfo(schedule.team.time_zone),
    )


# --- wall clock --------------------------------------------------------------------------------


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in ``tz`` as a UTC instant (fold=0; see the module docstring)."""
    return naive.replace(tzinfo=tz).astimezone(UTC)


def to_local_naive(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


# --- one layer ---------------------------------------------------------------------------------

Interval = tuple[datetime, datetime, int]  # start, end, user id


def layer_shifts(layer: LayerRules, tz: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    """The layer's rotation shifts overlapping [start, end), clipped to it (restrictions not applied)."""
    if not layer.user_ids or start >= end:
        return []
    anchor = datetime.combine(layer.start_date, layer.handoff_time)
    length = layer.length
    local_start = to_local_naive(start, tz)
    # One shift earlier than the arithmetic says: around a fall-back hour the naive local time of
    # ``start`` can read up to an hour late, and a shift that began "before" it must not be skipped.
    index = max(0, math.floor((local_start - anchor) / length) - 1)
    shifts: list[Interval] = []
    count = len(layer.user_ids)
    while True:
        shift_start = localize(anchor + index * length, tz)
        if shift_start >= end:
            break
        shift_end = localize(anchor + (index + 1) * length, tz)
        if shift_end > start and shift_start < shift_end:
            shifts.append((max(shift_start, start), min(shift_end, end), layer.user_ids[index % count]))
        index += 1
    return shifts


def restriction_windows(
    restrictions: Sequence[Restriction], tz: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Merged UTC windows of [start, end) during which the restrictions allow the layer."""
    first_day = to_local_naive(start, tz).date() - timedelta(days=1)
    last_day = to_local_naive(end, tz).date()
    windows = []
    day = first_day
    while day <= last_day:
        for rule in restrictions:
            if day.weekday() not in rule.days:
                continue
            window_start = localize(datetime.combine(day, rule.start), tz)
            end_day = day if rule.end > rule.start else day + timedelta(days=1)
            window_end = localize(datetime.combine(end_day, rule.end), tz)
            lo, hi = max(window_start, start), min(window_end, end)
            if lo < hi:
                windows.append((lo, hi))
        day += timedelta(days=1)
    return _merge_windows(windows)


def _merge_windows(windows: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[list[datetime]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def layer_intervals(layer: LayerRules, tz: ZoneInfo, start: datetime, end: datetime) -> list[Interval]:
    """Who the layer puts on call over [start, end), restrictions applied."""
    shifts = layer_shifts(layer, tz, start, end)
    if not layer.restrictions:
        return shifts
    windows = restriction_windows(layer.restrictions, tz, start, end)
    result = []
    for shift_start, shift_end, user_id in shifts:
        for lo, hi in windows:
            a, b = max(shift_start, lo), min(shift_end, hi)
            if a < b:
                result.append((a, b, user_id))
    return result


# --- the whole schedule ------------------------------------------------------------------------


def _who_at(intervals: list[Interval], starts: list[datetime], instant: datetime) -> int | None:
    i = bisect.bisect_right(starts, instant) - 1
    if i >= 0 and intervals[i][0] <= instant < intervals[i][1]:
        return intervals[i][2]
    return None


def _apply_swaps(segments: list[Segment], swaps: Sequence[SwapRule]) -> list[Segment]:
    for swap in swaps:
        trade = {swap.first_id: swap.second_id, swap.second_id: swap.first_id}
        segments = _rewrite(
            segments,
            swap.start,
            swap.end,
            lambda seg, trade=trade: (trade[seg.user_id], "swap") if seg.user_id in trade else None,
        )
    return segments


def _apply_overrides(segments: list[Segment], overrides: Sequence[OverrideRule]) -> list[Segment]:
    for override in overrides:

        def replace(seg, override=override):
            if override.replaces_id is None or seg.user_id == override.replaces_id:
                return override.user_id, "override"
            return None

        segments = _rewrite(segments, override.start, override.end, replace)
    return segments


def _rewrite(segments: list[Segment], start: datetime, end: datetime, change) -> list[Segment]:
    """Split segments at [start, end) and let ``change(segment)`` → (user, source) | None rewrite the
    parts inside."""
    result = []
    for seg in segments:
        if seg.end <= start or seg.start >= end:
            result.append(seg)
            continue
        if seg.start < start:
            result.append(Segment(seg.start, start, seg.user_id, seg.source))
        inner = Segment(max(seg.start, start), min(seg.end, end), seg.user_id, seg.source)
        changed = change(inner)
        result.append(inner if changed is None else Segment(inner.start, inner.end, changed[0], changed[1]))
        if seg.end > end:
            result.append(Segment(end, seg.end, seg.user_id, seg.source))
    return result


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for seg in segments:
        if seg.start >= seg.end:
            continue
        last = merged[-1] if merged else None
        if last and last.end == seg.start and last.user_id == seg.user_id and last.source == seg.source:
            merged[-1] = Segment(last.start, seg.end, last.user_id, last.source)
        else:
            merged.append(seg)
    return merged


def timeline(snap: ScheduleSnapshot, start: datetime, end: datetime) -> list[Segment]:
    """Consecutive segments covering exactly [start, end): who is on call, and the gaps."""
    if start >= end:
        return []
    tz = snap.tz
    per_layer = []
    bounds = {start, end}
    # Highest priority first; among equal priorities the later-created layer wins.
    for layer in sorted(snap.layers, key=lambda item: (item.priority, item.id), reverse=True):
        intervals = sorted(layer_intervals(layer, tz, start, end))
        per_layer.append((layer, intervals, [iv[0] for iv in intervals]))
        for lo, hi, _user in intervals:
            bounds.add(lo)
            bounds.add(hi)
    for rule in (*snap.overrides, *snap.swaps):
        for instant in (rule.start, rule.end):
            if start < instant < end:
                bounds.add(instant)
    ordered = sorted(bounds)
    segments = []
    for lo, hi in itertools.pairwise(ordered):
        user_id, source = None, ""
        for layer, intervals, starts in per_layer:
            who = _who_at(intervals, starts, lo)
            if who is not None:
                user_id, source = who, f"layer:{layer.id}"
                break
        segments.append(Segment(lo, hi, user_id, source))
    segments = _apply_swaps(segments, snap.swaps)
    segments = _apply_overrides(segments, snap.overrides)
    return _merge(segments)


def gaps(segments: Iterable[Segment]) -> list[Segment]:
    return [seg for seg in segments if seg.is_gap]


def oncall_at(snap: ScheduleSnapshot, at: datetime) -> int | None:
    """The user id on call at ``at``, or None."""
    segments = timeline(snap, at, at + timedelta(seconds=1))
    return segments[0].user_id if segments else None


def current_and_next(
    snap: ScheduleSnapshot, at: datetime, horizon: timedelta = DEFAULT_NEXT_HORIZON
) -> tuple[Segment | None, Segment | None]:
    """The segment covering ``at`` (None in a gap) and the next segment with a different person on
    call (None when nobody else is within ``horizon``)."""
    segments = timeline(snap, at, at + horizon)
    if not segments:
        return None, None
    first = segments[0]
    current = None if first.is_gap else first
    for seg in segments[1:]:
        if current is not None and seg.user_id == current.user_id and seg.start == current.end:
            # Same person, another layer or an override: one stretch on call, as people read it.
            current = Segment(current.start, seg.end, current.user_id, current.source)
        elif not seg.is_gap and seg.user_id != first.user_id:
            return current, seg
    return current, None


def user_shifts(snap: ScheduleSnapshot, user_id: int, start: datetime, end: datetime) -> list[Segment]:
    """The spans of [start, end) during which ``user_id`` is on call in this schedule."""
    merged: list[Segment] = []
    for seg in timeline(snap, start, end):
        if seg.user_id != user_id:
            continue
        if merged and merged[-1].end == seg.start:
            merged[-1] = Segment(merged[-1].start, seg.end, user_id, merged[-1].source)
        else:
            merged.append(seg)
    return merged
