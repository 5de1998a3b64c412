"""Working-time arithmetic for SLA targets.

Business-hours windows are laid out in the calendar's wall-clock time zone and only then turned
into UTC instants, so a target that spans a daylight-saving change keeps its business meaning
(09:00 is 09:00 local on both sides of the change).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Guard against a calendar with no working time at all (validated away, but a loop must never spin).
_MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo
    start: time
    end: time
    days: frozenset[int]  # 0=Monday … 6=Sunday

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days:
            return None
        opens = datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)
        return (opens, closes) if closes > opens else None

    def _days_from(self, instant: datetime):
        day = instant.astimezone(self.tz).date()
        for offset in range(_MAX_DAYS):
            yield day + timedelta(days=offset)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant when ``seconds`` of working time have passed since ``start``."""
        remaining = timedelta(seconds=seconds)
        for day in self._days_from(start):
            window = self.window(day)
            if window is None:
                continue
            opens, closes = window
            begin = max(opens, start)
            if begin >= closes:
                continue
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise ValueError("calendar has no working time")

    def between(self, a: datetime, b: datetime) -> float:
        """Working seconds in [a, b)."""
        if b <= a:
            return 0.0
        total = timedelta()
        for day in self._days_from(a):
            window = self.window(day)
            if window is not None:
                lo, hi = max(window[0], a), min(window[1], b)
                if hi > lo:
                    total += hi - lo
            if datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC) > b:
                break
        return total.total_seconds()


class AlwaysCalendar:
    """24x7: working time is wall time."""

    def add(self, start: datetime, seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    def between(self, a: datetime, b: datetime) -> float:
        return max((b - a).total_seconds(), 0.0)
