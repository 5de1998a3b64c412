"""What a public status page shows, read in a fixed number of queries and cached briefly.

The snapshot is plain data (dicts, lists, datetimes): the HTML page, ``summary.json`` and the Atom
feed are all rendered from it, so they cannot disagree. Nothing internal enters it: internal
incidents contribute only their severity's effect on a component.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Prefetch, Q
from django.utils import timezone

from incidents.models import OPEN_STATUSES, Incident
from monitoring.statuspages import status as st
from monitoring.statuspages.models import (
    ComponentStatus,
    NoticeKind,
    NoticeStatus,
    StatusComponent,
    StatusNotice,
    StatusNoticeUpdate,
    StatusPage,
)

UPTIME_DAYS = 90
HISTORY_DAYS = 14

# Each monitor's checks and failures per UTC day, from the hour rollups (kept long after raw results).
DAILY_SQL = """
SELECT monitor_id, (start AT TIME ZONE 'UTC')::date AS day, sum(checks), sum(failures)
FROM monitoring_rollup
WHERE period = 'hour' AND monitor_id = ANY(%(ids)s) AND start >= %(since)s
GROUP BY monitor_id, day
"""

LATENCY_HOURS = 24
# Each monitor's typical response time over the last day: its hour rollups' medians, weighted by
# their checks (a rollup without latency, e.g. a heartbeat's, counts for nothing).
LATENCY_SQL = """
SELECT monitor_id, sum(latency_p50 * checks) / sum(checks), sum(checks)
FROM monitoring_rollup
WHERE period = 'hour' AND monitor_id = ANY(%(ids)s) AND start >= %(since)s AND latency_p50 IS NOT NULL
GROUP BY monitor_id
"""


@dataclass
class Day:
    date: object
    checks: int = 0
    failures: int = 0

    @property
    def percent(self) -> float | None:
        return None if not self.checks else round(100.0 * (self.checks - self.failures) / self.checks, 2)

    @property
    def tone(self) -> str:
        return st.uptime_tone(self.percent)


@dataclass
class ComponentView:
    id: int
    name: str
    description: str
    group: str
    position: int
    status: str
    show_uptime: bool
    created_at: datetime
    updated_at: datetime
    days: list[Day] = field(default_factory=list)
    # Typical response time (ms) of the component's monitors over the last day, or None.
    latency_ms: int | None = None

    @property
    def status_label(self) -> str:
        return ComponentStatus(self.status).label

    @property
    def tone(self) -> str:
        return st.TONE[ComponentStatus(self.status)]

    @property
    def uptime_percent(self) -> float | None:
        checks = sum(d.checks for d in self.days)
        failures = sum(d.failures for d in self.days)
        return None if not checks else round(100.0 * (checks - failures) / checks, 3)


def daily_uptime(monitor_ids: list[int], *, today, days: int = UPTIME_DAYS) -> dict[int, dict]:
    """monitor id -> {date: (checks, failures)} over the last ``days`` UTC days (today included)."""
    if not monitor_ids:
        return {}
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    found: dict[int, dict] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(DAILY_SQL, {"ids": monitor_ids, "since": since})
        for monitor_id, day, checks, failures in cursor.fetchall():
            found[monitor_id][day] = (int(checks), int(failures))
    return found


def recent_latency(monitor_ids: list[int], *, now) -> dict[int, tuple[float, int]]:
    """monitor id -> (typical response time in ms, checks it rests on) over ``LATENCY_HOURS``."""
    if not monitor_ids:
        return {}
    since = now - timedelta(hours=LATENCY_HOURS)
    with connection.cursor() as cursor:
        cursor.execute(LATENCY_SQL, {"ids": monitor_ids, "since": since})
        return {monitor_id: (float(ms), int(checks)) for monitor_id, ms, checks in cursor.fetchall()}


def _component_latency(monitors, latency: dict[int, tuple[float, int]]) -> int | None:
    found = [latency[m.pk] for m in monitors if m.pk in latency]
    checks = sum(n for _, n in found)
    return round(sum(ms * n for ms, n in found) / checks) if checks else None


def _notices(page: StatusPage, now):
    updates = Prefetch("updates", queryset=StatusNoticeUpdate.objects.order_by("-created_at", "-pk"))
    recent = now - timedelta(days=HISTORY_DAYS)
    return list(
        StatusNotice.objects.filter(page=page)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=recent))
        .prefetch_related(
            updates, Prefetch("components", queryset=StatusComponent.objects.only("pk", "name"))
        )
        .order_by("-created_at", "-pk")
    )


def build_snapshot(page: StatusPage, *, now=None, with_uptime: bool = True) -> dict:
    """``with_uptime=False`` leaves the uptime bars empty (no rollup query): for callers that want
    only the states."""
    now = now or timezone.now()
    components = list(
        StatusComponent.objects.filter(page=page)
        .prefetch_related("monitors", "services")
        .order_by("position", "name", "pk")
    )
    notices = _notices(page, now)
    service_ids = {s.pk for c in components for s in c.services.all()}
    severities: dict[int, list[str]] = defaultdict(list)
    if service_ids:
        rows = Incident.objects.filter(
            organization_id=page.organization_id, service_id__in=service_ids, status__in=list(OPEN_STATUSES)
        ).values_list("service_id", "severity")
        for service_id, severity in rows:
            severities[service_id].append(severity)
    declared: dict[int, list[str]] = defaultdict(list)
    maintained: set[int] = set()
    for notice in notices:
        if notice.kind == NoticeKind.INCIDENT and notice.is_open:
            for c in notice.components.all():
                declared[c.pk].append(notice.component_status)
        elif notice.maintenance_active(now):
            maintained.update(c.pk for c in notice.components.all())
    today = now.astimezone(UTC).date()
    monitor_ids = sorted({m.pk for c in components for m in c.monitors.all()})
    daily = daily_uptime(monitor_ids, today=today) if with_uptime else {}
    latency = recent_latency(monitor_ids, now=now) if with_uptime else {}
    views = []
    for c in components:
        monitors = list(c.monitors.all())
        state = st.component_status(
            monitors=[(m.state, m.flapping) for m in monitors],
            incident_severities=[sev for s in c.services.all() for sev in severities.get(s.pk, [])],
            declared=declared.get(c.pk, []),
            in_maintenance=c.pk in maintained,
        )
        days = []
        for offset in range(UPTIME_DAYS - 1, -1, -1):
            date = today - timedelta(days=offset)
            day = Day(date)
            for m in monitors:
                checks, failures = daily.get(m.pk, {}).get(date, (0, 0))
                day.checks += checks
                day.failures += failures
            days.append(day)
        views.append(
            ComponentView(
                id=c.pk,
                name=c.name,
                description=c.description,
                group=c.group,
                position=c.position,
                status=state,
                show_uptime=c.show_uptime and bool(monitors),
                created_at=c.created_at,
                updated_at=c.updated_at,
                days=days,
                latency_ms=_component_latency(monitors, latency) if c.show_uptime else None,
            )
        )
    indicator, description = st.page_status(v.status for v in views)
    incidents = [n for n in notices if n.kind == NoticeKind.INCIDENT]
    maintenance = [n for n in notices if n.kind == NoticeKind.MAINTENANCE]
    return {
        "page": page,
        "generated_at": now,
        "indicator": indicator,
        "description": description,
        "components": views,
        "groups": group_components(views),
        "active_incidents": [n for n in incidents if n.is_open],
        "past_incidents": [n for n in incidents if not n.is_open],
        "maintenance": [n for n in maintenance if n.is_open and n.scheduled_until > now],
        "past_maintenance": [n for n in maintenance if not n.is_open or n.scheduled_until <= now],
        "now": now,
        "in_progress_status": NoticeStatus.IN_PROGRESS,
    }


def component_statuses(page: StatusPage) -> dict[int, str]:
    """Each component's state now (uncached: for operators and the API)."""
    return {view.id: view.status for view in build_snapshot(page, with_uptime=False)["components"]}


def component_states(page: StatusPage, *, now=None) -> list[dict]:
    """Each component's id, name and state now, in page order (uncached: read inside the writer's
    transaction, so it already sees the change being made)."""
    views = build_snapshot(page, now=now, with_uptime=False)["components"]
    return [{"id": v.id, "name": v.name, "status": v.status} for v in views]


def group_components(views: list[ComponentView]) -> list[tuple[str, list[ComponentView]]]:
    """Groups in the order of their first component; ungrouped components form groups of their own."""
    groups: list[tuple[str, list[ComponentView]]] = []
    index: dict[str, int] = {}
    for view in views:
        if not view.group:
            groups.append(("", [view]))
            continue
        if view.group not in index:
            index[view.group] = len(groups)
            groups.append((view.group, []))
        groups[index[view.group]][1].append(view)
    return groups


def _cache_key(page_id: int) -> str:
    return f"statuspages:snapshot:{page_id}"


def snapshot(page: StatusPage) -> dict:
    """The page's snapshot, shared by all readers for ``STATUS_PAGE_CACHE_SECONDS``."""
    seconds = settings.STATUS_PAGE_CACHE_SECONDS
    if seconds <= 0:
        return build_snapshot(page)
    found = cache.get(_cache_key(page.pk))
    if found is None:
        found = build_snapshot(page)
        cache.set(_cache_key(page.pk), found, seconds)
    return found


def forget(page_id: int) -> None:
    """Drop the cached snapshot (and the custom domains' map): an operator's change shows at once."""
    cache.delete_many([_cache_key(page_id), "statuspages:domains"])


def published_page_or_none(*, slug: str | None = None, host: str | None = None) -> StatusPage | None:
    pages = StatusPage.objects.filter(published=True).select_related("organization")
    if slug is not None:
        return pages.filter(slug=slug).first()
    return pages.filter(custom_domain=host).first() if host else None
