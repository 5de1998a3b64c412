"""The "On call" card: who is on call now and next in the schedules of the viewer's teams.

A person on no team sees the organization's schedules if they manage schedules, else an empty
state that says how to get onto one. Each schedule costs a fixed number of queries (its snapshot),
so the card is bounded by ``LIMIT`` schedules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from notifications import oncall
from notifications.models import Schedule
from notifications.selectors import users_by_id
from opsplatform.accounts.models import Team, User
from opsplatform.core.capabilities import Capability

LIMIT = 6
MY_SHIFT_HORIZON = timedelta(days=7)


@dataclass
class ScheduleOnCall:
    schedule: Schedule
    current: oncall.Segment | None
    next: oncall.Segment | None
    current_user: User | None = None
    next_user: User | None = None
    me_now: bool = False


@dataclass
class MyShift:
    schedule: Schedule
    start: datetime
    end: datetime


@dataclass
class OnCallCard:
    scope: str  # "mine": the viewer's teams; "all": every team (a manager on none); "none"
    schedules: list[ScheduleOnCall] = field(default_factory=list)
    teams_without_schedule: list[Team] = field(default_factory=list)
    on_call_now: list[ScheduleOnCall] = field(default_factory=list)  # where the viewer is on call
    my_next: MyShift | None = None  # the viewer's next shift within a week, when not on call now
    more: bool = False

    @property
    def on_call_until(self) -> datetime | None:
        ends = [s.current.end for s in self.on_call_now if s.current]
        return max(ends) if ends else None


def oncall_card(organization, actor, now: datetime, *, limit: int = LIMIT) -> OnCallCard:
    user = actor.user
    teams = list(Team.objects.for_organization(organization).filter(members=user).order_by("name"))
    scope = "mine"
    if not teams:
        if not actor.can(Capability.SCHEDULE_MANAGE):
            return OnCallCard(scope="none")
        teams = list(Team.objects.for_organization(organization).order_by("name")[:50])
        scope = "all"
    schedules = list(
        Schedule.objects.for_organization(organization)
        .filter(team__in=teams)
        .select_related("team")
        .order_by("team__name", "name")[: limit + 1]
    )
    card = OnCallCard(scope=scope, more=len(schedules) > limit)
    scheduled_teams = {s.team_id for s in schedules}
    card.teams_without_schedule = [t for t in teams if t.pk not in scheduled_teams] if not card.more else []
    upcoming: list[MyShift] = []
    for schedule in schedules[:limit]:
        snap = oncall.snapshot(schedule, now, now + oncall.DEFAULT_NEXT_HORIZON)
        current, upcoming_segment = oncall.current_and_next(snap, now)
        row = ScheduleOnCall(schedule, current, upcoming_segment)
        row.me_now = current is not None and current.user_id == user.pk
        card.schedules.append(row)
        if row.me_now:
            card.on_call_now.append(row)
        else:
            shifts = oncall.user_shifts(snap, user.pk, now, now + MY_SHIFT_HORIZON)
            if shifts:
                upcoming.append(MyShift(schedule, shifts[0].start, shifts[0].end))
    if not card.on_call_now and upcoming:
        card.my_next = min(upcoming, key=lambda shift: shift.start)
    people = users_by_id(
        seg.user_id for row in card.schedules for seg in (row.current, row.next) if seg is not None
    )
    for row in card.schedules:
        row.current_user = people.get(row.current.user_id) if row.current else None
        row.next_user = people.get(row.next.user_id) if row.next else None
    return card
