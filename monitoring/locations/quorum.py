"""Quorum over locations: each location confirms its own verdict with the monitor's thresholds, and
the monitor is down only while at least ``quorum`` of its locations are failing.

A location confirms failing after ``down_after`` consecutive failures and clears after ``up_after``
consecutive successes; the monitor's state machine then takes the quorum's outcome with thresholds
of 1 (the hysteresis already happened per location). A location whose last result is older than
``STALE_INTERVALS`` intervals (an agent that stopped) has no vote, so a dead agent can neither keep a
monitor down nor hold it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from monitoring.locations.models import LOCAL, MonitorLocation
from monitoring.models import Monitor, Outcome

STALE_INTERVALS = 3


@dataclass(frozen=True)
class Verdict:
    outcome: str
    failing: int
    voting: int
    locations: int
    quorum: int

    def describe(self) -> str:
        return f"{self.failing} of {self.locations} locations failing (quorum {self.quorum})"


def vote(placement: MonitorLocation, outcome: str, *, down_after: int, up_after: int, now) -> None:
    """One result of this location: its counters and confirmed verdict (not saved here)."""
    placement.last_outcome, placement.last_checked_at = outcome, now
    if outcome == Outcome.NOT_PERMITTED:
        return
    if outcome == Outcome.DOWN:
        placement.consecutive_failures += 1
        placement.consecutive_successes = 0
        if placement.consecutive_failures >= down_after:
            placement.failing = True
    else:
        placement.consecutive_successes += 1
        placement.consecutive_failures = 0
        if placement.consecutive_successes >= up_after:
            placement.failing = False


def apply(monitor: Monitor, *, location, outcome: str, now) -> Verdict:
    """Record ``location``'s result (None: local) on its placement and count the votes.

    The caller holds the monitor's row lock, which serializes every location's results for it.
    """
    placements = list(MonitorLocation.objects.filter(monitor=monitor).select_related("location"))
    mine = next((p for p in placements if p.location_id == (location.pk if location else None)), None)
    if mine is None:  # a location removed while its result was on the way: the result still counts
        mine = MonitorLocation(monitor=monitor, location=location)
        placements.append(mine)
    vote(mine, outcome, down_after=monitor.down_after, up_after=monitor.up_after, now=now)
    mine.save()
    fresh_after = now - timedelta(seconds=STALE_INTERVALS * monitor.interval_seconds)
    voting = [p for p in placements if p.last_checked_at and p.last_checked_at >= fresh_after]
    failing = sum(1 for p in voting if p.failing)
    if failing >= monitor.quorum:
        effective = Outcome.DOWN
    elif outcome in (Outcome.DEGRADED, Outcome.NOT_PERMITTED):
        effective = outcome
    else:
        effective = Outcome.UP
    return Verdict(effective, failing, len(voting), len(placements), monitor.quorum)


def location_name(location) -> str:
    return location.name if location is not None else LOCAL
