"""Local days of an organization: the rollups' buckets and the ranges people ask for."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def zone(name: str | None) -> ZoneInfo:
    """A stored zone name that no longer loads must not break a read (invariant 14): UTC then."""
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def zone_name(name: str | None) -> str:
    return zone(name).key


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The instant a local day begins. Midnight is never skipped by the zones this serves at
    fold=0; where a zone did skip it (a few historical changes), zoneinfo moves it forward."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[first 00:00, last+1 00:00) local, as UTC instants."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
