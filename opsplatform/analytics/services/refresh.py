"""Keeping the rollups in step with incidents and deliveries.

The triggers (migration 0002) append ``(organization, kind, instant)`` to ``analytics_rollupchange``
whenever a figure's input changes. :func:`refresh_rollups` (the beat tick) turns those instants into
local days and recomputes exactly those days: delete the day's rows, insert them again from the
source tables, in one transaction per organization and batch of days, so a reader sees the old day
or the new one, never half of it. An organization without rollups yet, or whose time zone changed,
is rebuilt month by month.

Only one refresh runs at a time (a PostgreSQL advisory lock): a second tick that finds it taken
returns at once instead of recomputing the same days.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from opsplatform.accounts.models import Organization
from opsplatform.analytics import periods
from opsplatform.analytics.models import RollupChange, RollupState
from opsplatform.analytics.services.timezones import day_bounds, local_day, zone, zone_name

logger = logging.getLogger(__name__)

LOCK_KEY = 7_311_002  # pg advisory lock id of the refresh
DAYS_PER_BATCH = 31
# A delivery group (one step's messages to one person) may span the midnight it started before:
# its retries are read this far back so the group is whole.
DELIVERY_LOOKBACK = timedelta(days=1)


def _ms(later: str, earlier: str) -> str:
    """Whole milliseconds between two columns, never negative (a clock step backwards is 0)."""
    return f"greatest(0, round(extract(epoch from ({later} - {earlier})) * 1000))::bigint"


TO_ACK, TO_RESOLVE, ACK_TO_RESOLVE = (
    _ms("x.ack", "i.created_at"),
    _ms("i.resolved_at", "i.created_at"),
    _ms("i.resolved_at", "x.ack"),
)

# Built from the constant fragments above only; every value is a query parameter.
INCIDENT_ROLLUP_SQL = f"""
INSERT INTO analytics_incidentrollup (
    organization_id, day, team_id, service_id, severity, integration_id, source,
    incidents, open, alerts, acknowledged, ack_ms, resolved, resolve_ms,
    ack_resolved, ack_to_resolve_ms, unacked_resolved, unacked_resolve_ms,
    ack_sla_met, ack_sla_breached, resolve_sla_met, resolve_sla_breached, escalated
)
SELECT
    i.organization_id,
    (i.created_at AT TIME ZONE %(tz)s)::date,
    i.team_id, i.service_id, i.severity, i.integration_id,
    CASE WHEN i.integration_id IS NULL THEN left(i.source, 100) ELSE '' END,
    count(*),
    count(*) FILTER (WHERE NOT x.resolved),
    coalesce(sum(i.alerts_total), 0),
    count(x.ack),
    coalesce(sum({TO_ACK}), 0),
    count(*) FILTER (WHERE x.resolved),
    coalesce(sum({TO_RESOLVE}) FILTER (WHERE x.resolved), 0),
    count(*) FILTER (WHERE x.resolved AND x.ack IS NOT NULL),
    coalesce(sum({ACK_TO_RESOLVE}) FILTER (WHERE x.resolved AND x.ack IS NOT NULL), 0),
    count(*) FILTER (WHERE x.resolved AND x.ack IS NULL),
    coalesce(sum({TO_RESOLVE}) FILTER (WHERE x.resolved AND x.ack IS NULL), 0),
    count(*) FILTER (WHERE i.ack_due_at IS NOT NULL AND NOT x.ack_breached
                     AND coalesce(x.ack, i.resolved_at) IS NOT NULL),
    count(*) FILTER (WHERE x.ack_breached),
    count(*) FILTER (WHERE i.resolve_due_at IS NOT NULL AND NOT x.resolve_breached AND x.resolved),
    count(*) FILTER (WHERE x.resolve_breached),
    count(*) FILTER (WHERE coalesce(f.escalated, false))
FROM incidents_incident i
LEFT JOIN analytics_incidentfact f ON f.incident_id = i.id
CROSS JOIN LATERAL (
    SELECT
        coalesce(f.first_ack_at, i.acknowledged_at) AS ack,
        (i.status = 'resolved' AND i.resolved_at IS NOT NULL) AS resolved,
        (i.ack_due_at IS NOT NULL AND (
            i.ack_breached_at IS NOT NULL
            OR coalesce(f.first_ack_at, i.acknowledged_at, i.resolved_at) > i.ack_due_at
        )) AS ack_breached,
        (i.resolve_due_at IS NOT NULL AND (
            i.resolve_breached_at IS NOT NULL
            OR (i.status = 'resolved' AND i.resolved_at > i.resolve_due_at)
        )) AS resolve_breached
) x
WHERE i.organization_id = %(org)s
  AND i.created_at >= %(lo)s AND i.created_at < %(hi)s
  AND (i.created_at AT TIME ZONE %(tz)s)::date = ANY(%(days)s)
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""  # noqa: S608

# One row per interruption: the messages of one escalation step (one epoch, round and step) to one
# person about one incident, whatever the media; its instant is the first message sent.
DELIVERY_GROUPS_SQL = """
SELECT n.recipient_id, i.team_id, n.incident_id, min(n.sent_at), count(*)
FROM notifications_notification n
JOIN incidents_incident i ON i.id = n.incident_id
WHERE n.organization_id = %(org)s AND n.status = 'sent'
  AND n.recipient_id IS NOT NULL AND n.sent_at IS NOT NULL
  AND n.sent_at >= %(lo)s AND n.sent_at < %(hi)s
GROUP BY n.recipient_id, i.team_id, n.incident_id, n.epoch, n.cycle, n.step
"""


@dataclass
class RefreshResult:
    rebuilt: list[int] = field(default_factory=list)
    days: int = 0
    changes: int = 0
    skipped: bool = False


def _batches(days: list[date]):
    days = sorted(days)
    for start in range(0, len(days), DAYS_PER_BATCH):
        yield days[start : start + DAYS_PER_BATCH]


def recompute_incident_days(org_id: int, tz_name: str, days: list[date]) -> None:
    tz = zone(tz_name)
    for batch in _batches(days):
        lo, hi = day_bounds(batch[0], batch[-1], tz)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM analytics_incidentrollup WHERE organization_id = %s AND day = ANY(%s)",
                [org_id, batch],
            )
            cursor.execute(
                INCIDENT_ROLLUP_SQL, {"org": org_id, "tz": tz.key, "lo": lo, "hi": hi, "days": batch}
            )


def _user_zones(user_ids) -> dict:
    from django.contrib.auth import get_user_model

    rows = get_user_model().objects.filter(pk__in=set(user_ids)).values_list("pk", "time_zone")
    return {pk: zone(name) for pk, name in rows}


def recompute_oncall_days(org_id: int, tz_name: str, days: list[date]) -> None:
    tz = zone(tz_name)
    for batch in _batches(days):
        wanted = set(batch)
        lo, hi = day_bounds(batch[0], batch[-1], tz)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(DELIVERY_GROUPS_SQL, {"org": org_id, "lo": lo - DELIVERY_LOOKBACK, "hi": hi})
            groups = [row for row in cursor.fetchall() if local_day(row[3], tz) in wanted]
            zones = _user_zones(row[0] for row in groups)
            totals = defaultdict(lambda: {"interruptions": 0, "notifications": 0, "incidents": set()})
            for user_id, team_id, incident_id, first_sent, messages in groups:
                bucket = totals[(local_day(first_sent, tz), user_id, team_id)]
                period = periods.period_of(first_sent, zones.get(user_id, tz))
                bucket[period] = bucket.get(period, 0) + 1
                bucket["interruptions"] += 1
                bucket["notifications"] += messages
                bucket["incidents"].add(incident_id)
            cursor.execute(
                "DELETE FROM analytics_oncallrollup WHERE organization_id = %s AND day = ANY(%s)",
                [org_id, batch],
            )
            rows = [
                (
                    org_id,
                    day,
                    user_id,
                    team_id,
                    values["interruptions"],
                    values.get(periods.BUSINESS, 0),
                    values.get(periods.OFF_HOURS, 0),
                    values.get(periods.SLEEP, 0),
                    values["notifications"],
                    len(values["incidents"]),
                )
                for (day, user_id, team_id), values in totals.items()
            ]
            if rows:
                cursor.executemany(
                    "INSERT INTO analytics_oncallrollup (organization_id, day, user_id, team_id, "
                    "interruptions, business, off_hours, sleep, notifications, incidents) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )


def _first_day(org_id: int, tz) -> date | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT least((SELECT min(created_at) FROM incidents_incident WHERE organization_id = %s),"
            " (SELECT min(sent_at) FROM notifications_notification"
            "  WHERE organization_id = %s AND sent_at IS NOT NULL AND recipient_id IS NOT NULL))",
            [org_id, org_id],
        )
        first = cursor.fetchone()[0]
    return local_day(first, tz) if first else None


def rebuild_organization(org_id: int, tz_name: str, *, today: date | None = None) -> int:
    """Every day of the organization from its first incident to today; returns the days covered."""
    tz = zone(tz_name)
    with transaction.atomic():
        RollupState.objects.filter(organization_id=org_id).delete()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM analytics_incidentrollup WHERE organization_id = %s", [org_id])
            cursor.execute("DELETE FROM analytics_oncallrollup WHERE organization_id = %s", [org_id])
    first = _first_day(org_id, tz)
    today = today or local_day(timezone.now(), tz)
    days = []
    if first is not None:
        days = [first + timedelta(days=n) for n in range((max(today, first) - first).days + 2)]
        recompute_incident_days(org_id, tz.key, days)
        recompute_oncall_days(org_id, tz.key, days)
    now = timezone.now()
    RollupState.objects.create(organization_id=org_id, time_zone=tz.key, built_at=now, refreshed_at=now)
    return len(days)


def _dirty_days(max_id: int, zones: dict[int, str]) -> dict[tuple[int, int], set[date]]:
    dirty = defaultdict(set)
    with connection.cursor() as cursor:
        # Hours, not instants: thousands of changes in a busy hour become one row to convert.
        cursor.execute(
            "SELECT DISTINCT organization_id, kind, date_trunc('hour', at) FROM analytics_rollupchange "
            "WHERE id <= %s",
            [max_id],
        )
        for org_id, kind, hour in cursor.fetchall():
            if org_id not in zones:
                continue  # the organization is gone; its rows went with it
            tz = zone(zones[org_id])
            # An hour of a zone with a half-hour offset can span two local days.
            for instant in (hour, hour + timedelta(minutes=59, seconds=59)):
                day = local_day(instant, tz)
                dirty[(org_id, kind)].add(day)
                if kind == RollupChange.Kind.DELIVERY:
                    dirty[(org_id, kind)].add(day + timedelta(days=1))
    return dirty


def refresh_rollups() -> RefreshResult:
    result = RefreshResult()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cursor.fetchone()[0]:
            result.skipped = True
            return result
    try:
        max_id = RollupChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
        zones = {pk: zone_name(name) for pk, name in Organization.objects.values_list("pk", "time_zone")}
        states = dict(RollupState.objects.values_list("organization_id", "time_zone"))
        for org_id, tz_name in zones.items():
            if states.get(org_id) != tz_name:
                rebuild_organization(org_id, tz_name)
                result.rebuilt.append(org_id)
        for (org_id, kind), days in _dirty_days(max_id, zones).items():
            if org_id in result.rebuilt:
                continue
            if kind == RollupChange.Kind.INCIDENT:
                recompute_incident_days(org_id, zones[org_id], sorted(days))
            else:
                recompute_oncall_days(org_id, zones[org_id], sorted(days))
            result.days += len(days)
        result.changes = RollupChange.objects.filter(id__lte=max_id).delete()[0]
        RollupState.objects.filter(organization_id__in=list(zones)).update(refreshed_at=timezone.now())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    return result
