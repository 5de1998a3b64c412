"""Reads of incidents and services: the list's filters (shared by page and API), the timeline,
and MTTA/MTTR."""

from datetime import timedelta

from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils import timezone

from audit.models import LedgerEntry
from incidents.models import OPEN_STATUSES, Incident, Service, Severity, Status
from opsplatform.core.ids import parse_id

SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "severity": ("severity", "-created_at", "-id"),
    "updated": ("-updated_at", "-id"),
}

SLA_FILTERS = {
    "breached": Q(ack_breached_at__isnull=False) | Q(resolve_breached_at__isnull=False),
    "at_risk": (Q(ack_warned_at__isnull=False) | Q(resolve_warned_at__isnull=False))
    & Q(ack_breached_at__isnull=True, resolve_breached_at__isnull=True, status__in=list(OPEN_STATUSES)),
    "ok": Q(ack_warned_at__isnull=True, resolve_warned_at__isnull=True, sla_policy__isnull=False),
}


def incidents_for_list(organization) -> QuerySet[Incident]:
    """The list's base query: everything a row shows, in a fixed number of queries."""
    return (
        Incident.objects.for_organization(organization)
        .select_related("service", "team", "acknowledged_by")
        .prefetch_related("assignees")
    )


def _many(value) -> list:
    """One object or several: the API names one service, the page's dropdowns tick any number."""
    return list(value) if isinstance(value, list | tuple | set | QuerySet) else [value]


def filter_incidents(
    queryset,
    *,
    status=(),
    severity=(),
    service=None,
    team=None,
    assignee=None,
    sla="",
    q="",
    sort="newest",
    open_only=False,
) -> QuerySet[Incident]:
    if status:
        queryset = queryset.filter(status__in=status)
    elif open_only:
        queryset = queryset.filter(status__in=list(OPEN_STATUSES))
    if severity:
        queryset = queryset.filter(severity__in=severity)
    if service:
        queryset = queryset.filter(service__in=_many(service))
    if team:
        queryset = queryset.filter(team__in=_many(team))
    if assignee:
        # A subquery, not a join: an incident with two of the chosen assignees is still one row.
        through = Incident.assignees.through.objects.filter(user__in=_many(assignee))
        queryset = queryset.filter(pk__in=through.values("incident_id"))
    if sla:
        queryset = queryset.filter(SLA_FILTERS[sla])
    q = (q or "").strip()
    if q:
        text = Q(title__icontains=q) | Q(dedup_key=q)
        pk = parse_id(q.removeprefix("#"))
        if pk is not None:
            text |= Q(pk=pk)
        queryset = queryset.filter(text)
    return queryset.order_by(*SORTS.get(sort or "newest", SORTS["newest"]))


def status_counts(organization) -> dict[str, int]:
    rows = (
        Incident.objects.for_organization(organization)
        .filter(status__in=list(OPEN_STATUSES))
        .values("status")
        .annotate(n=Count("id"))
    )
    return {row["status"]: row["n"] for row in rows}


def incident_timeline(incident: Incident) -> QuerySet[LedgerEntry]:
    """The incident's ledger entries, including those of incidents merged into it, in order."""
    ids = [str(incident.pk), *(str(pk) for pk in incident.merged_incidents.values_list("pk", flat=True))]
    return LedgerEntry.objects.filter(
        organization_id=incident.organization_id, target_type="incidents.incident", target_id__in=ids
    ).order_by("sequence")


def related_incidents(incident: Incident, limit: int = 5) -> QuerySet[Incident]:
    """Recent incidents of the same service (or dedup key), newest first."""
    match = Q(dedup_key=incident.dedup_key) if incident.dedup_key else Q()
    if incident.service_id:
        match |= Q(service_id=incident.service_id)
    if not match:
        return Incident.objects.none()
    return (
        Incident.objects.for_organization(incident.organization)
        .filter(match)
        .exclude(pk=incident.pk)
        .select_related("service")
        .order_by("-created_at")[:limit]
    )


def response_metrics(queryset) -> dict:
    """MTTA and MTTR (as timedeltas, None without data) and counts over ``queryset``."""
    agg = queryset.aggregate(
        mtta=Avg(F("acknowledged_at") - F("created_at"), filter=Q(acknowledged_at__isnull=False)),
        mttr=Avg(
            F("resolved_at") - F("created_at"), filter=Q(resolved_at__isnull=False, merged_into__isnull=True)
        ),
        total=Count("id"),
        open=Count("id", filter=Q(status__in=list(OPEN_STATUSES))),
    )
    return agg


def service_overview(service: Service, days: int = 30) -> dict:
    since = timezone.now() - timedelta(days=days)
    incidents = Incident.objects.for_organization(service.organization).filter(service=service)
    return {
        "open": incidents.filter(status__in=list(OPEN_STATUSES))
        .select_related("team")
        .order_by("-created_at"),
        "recent": incidents.filter(status=Status.RESOLVED).order_by("-resolved_at")[:20],
        "metrics": response_metrics(incidents.filter(created_at__gte=since)),
        "days": days,
    }


def services_for_list(organization) -> QuerySet[Service]:
    return (
        Service.objects.for_organization(organization)
        .select_related("owner_team")
        .annotate(open_incidents=Count("incidents", filter=Q(incidents__status__in=list(OPEN_STATUSES))))
        .order_by("name")
    )


SEVERITY_ORDER = list(Severity.values)
