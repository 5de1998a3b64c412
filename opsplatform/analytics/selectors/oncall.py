"""On-call load per responder: interruptions (from the rollup, classified in each responder's own
time zone when it was built), deliveries, and hours on call (computed from the schedules, which
are cheap pure functions over a snapshot), plus a fairness view per rotation."""

from collections import defaultdict
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Sum

from notifications import oncall
from notifications.models import Schedule
from opsplatform.analytics.models import OnCallRollup
from opsplatform.analytics.selectors.filters import Filters

LOAD_SUMS = ("interruptions", "business", "off_hours", "sleep", "notifications", "incidents")


def _rollup_rows(f: Filters):
    rows = OnCallRollup.objects.filter(organization_id=f.organization_id, day__gte=f.start, day__lte=f.end)
    if f.team is not None:
        rows = rows.filter(team_id=f.team.pk)
    return rows


def _schedules(f: Filters):
    schedules = Schedule.objects.filter(organization_id=f.organization_id).select_related("team")
    if f.team is not None:
        schedules = schedules.filter(team=f.team)
    return list(schedules.prefetch_related("layers__participants").order_by("name", "id"))


def _window(f: Filters, now: datetime) -> tuple[datetime, datetime] | None:
    """The part of the range that has happened: future shifts are not load yet."""
    lo, hi = f.bounds
    hi = min(hi, now)
    return (lo, hi) if lo < hi else None


def schedule_hours(f: Filters, now: datetime) -> dict[int, dict[int, float]]:
    """{schedule id: {user id: hours on call}} over the range so far."""
    window = _window(f, now)
    result: dict[int, dict[int, float]] = {}
    for schedule in _schedules(f):
        hours: dict[int, float] = defaultdict(float)
        if window is not None:
            snap = oncall.snapshot(schedule, *window)
            for segment in oncall.timeline(snap, *window):
                if not segment.is_gap:
                    hours[segment.user_id] += segment.duration.total_seconds() / 3600
        participants = {p.user_id for layer in schedule.layers.all() for p in layer.participants.all()}
        for user_id in participants:
            hours.setdefault(user_id, 0.0)
        result[schedule.pk] = dict(hours)
    return result


def _interruptions_by_user(f: Filters, team_id=None) -> dict[int, dict]:
    rows = _rollup_rows(f)
    if team_id is not None:
        rows = rows.filter(team_id=team_id)
    return {
        row["user_id"]: row
        for row in rows.values("user_id").annotate(**{name: Sum(name) for name in LOAD_SUMS})
    }


def _user_names(ids) -> dict[int, tuple[str, str]]:
    users = get_user_model().objects.filter(pk__in=set(ids))
    return {user.pk: (str(user), user.time_zone) for user in users}


def load(f: Filters, now: datetime, per_schedule: dict | None = None) -> list[dict]:
    """One row per responder who was interrupted or on call in the range."""
    interruptions = _interruptions_by_user(f)
    hours: dict[int, float] = defaultdict(float)
    if per_schedule is None:
        per_schedule = schedule_hours(f, now)
    for per_user in per_schedule.values():
        for user_id, value in per_user.items():
            hours[user_id] += value
    people = set(interruptions) | {pk for pk, value in hours.items() if value > 0}
    names = _user_names(people)
    rows = []
    for user_id in people:
        sums = interruptions.get(user_id, {})
        name, time_zone = names.get(user_id, (f"Former member #{user_id}", "UTC"))
        rows.append(
            {
                "user_id": user_id,
                "responder": name,
                "time_zone": time_zone,
                **{key: int(sums.get(key) or 0) for key in LOAD_SUMS},
                "hours_on_call": round(hours.get(user_id, 0.0), 2),
            }
        )
    return sorted(rows, key=lambda row: (-row["interruptions"], -row["hours_on_call"], row["responder"]))


def jain_index(values: list[float]) -> float | None:
    """Jain's fairness index: 1.0 when everyone carries the same, 1/n when one person carries all."""
    total = sum(values)
    if not values or total == 0:
        return None
    return round(total * total / (len(values) * sum(v * v for v in values)), 4)


def fairness(f: Filters, now: datetime, per_schedule: dict | None = None) -> list[dict]:
    """Per rotation: each participant's share of its on-call hours and of its team's interruptions."""
    if per_schedule is None:
        per_schedule = schedule_hours(f, now)
    schedules = {schedule.pk: schedule for schedule in _schedules(f)}
    names = _user_names({uid for hours in per_schedule.values() for uid in hours})
    result = []
    for schedule_id, hours in per_schedule.items():
        schedule = schedules[schedule_id]
        interruptions = _interruptions_by_user(f, team_id=schedule.team_id)
        total_hours = sum(hours.values())
        counts = {uid: int(interruptions.get(uid, {}).get("interruptions") or 0) for uid in hours}
        total_interruptions = sum(counts.values())
        people = []
        for user_id in sorted(hours, key=lambda uid: (-hours[uid], names.get(uid, ("",))[0])):
            people.append(
                {
                    "user_id": user_id,
                    "responder": names.get(user_id, (f"Former member #{user_id}",))[0],
                    "hours_on_call": round(hours[user_id], 2),
                    "hours_share": round(hours[user_id] / total_hours, 4) if total_hours else None,
                    "interruptions": counts[user_id],
                    "sleep": int(interruptions.get(user_id, {}).get("sleep") or 0),
                    "interruptions_share": (
                        round(counts[user_id] / total_interruptions, 4) if total_interruptions else None
                    ),
                }
            )
        result.append(
            {
                "schedule_id": schedule_id,
                "schedule": schedule.name,
                "team": schedule.team.name,
                "fair_share": round(1 / len(hours), 4) if hours else None,
                "hours_fairness": jain_index([hours[uid] for uid in hours]),
                "interruptions_fairness": jain_index([counts[uid] for uid in hours]),
                "participants": people,
            }
        )
    return result


def fairness_rows(sections: list[dict]) -> list[dict]:
    """The fairness view flattened to one row per (rotation, participant): tables and CSV."""
    return [
        {
            "schedule": section["schedule"],
            "team": section["team"],
            "fair_share": section["fair_share"],
            "hours_fairness": section["hours_fairness"],
            "interruptions_fairness": section["interruptions_fairness"],
            **person,
        }
        for section in sections
        for person in section["participants"]
    ]
