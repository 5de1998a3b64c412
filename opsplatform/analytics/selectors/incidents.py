"""Incident figures over a range, from the daily rollup."""

from django.db.models import Count, Min

from incidents.models import OPEN_STATUSES, Incident, Integration, Service, Severity
from opsplatform.analytics.models import IncidentRollup
from opsplatform.analytics.selectors.figures import figures, stages, sum_expressions
from opsplatform.analytics.selectors.filters import Filters
from opsplatform.analytics.services.timezones import days_between

NO_SERVICE = "No service"


def rollup_rows(f: Filters):
    rows = IncidentRollup.objects.filter(organization_id=f.organization_id, day__gte=f.start, day__lte=f.end)
    if f.team is not None:
        rows = rows.filter(team_id=f.team.pk)
    if f.service is not None:
        rows = rows.filter(service_id=f.service.pk)
    return rows


def totals(f: Filters) -> dict:
    return figures(rollup_rows(f).aggregate(**sum_expressions()))


def _names(model, organization_id, ids) -> dict:
    ids = {pk for pk in ids if pk is not None}
    return dict(model.objects.filter(organization_id=organization_id, pk__in=ids).values_list("pk", "name"))


def by_day(f: Filters) -> list[dict]:
    found = {
        row["day"]: row for row in rollup_rows(f).values("day").annotate(**sum_expressions()).order_by("day")
    }
    # Every day of the range, empty ones too: a trend line must not skip the quiet days.
    return [
        {"key": day.isoformat(), "label": day.isoformat(), **figures(found.get(day, {}))}
        for day in days_between(f.start, f.end)
    ]


def by_service(f: Filters) -> list[dict]:
    rows = list(rollup_rows(f).values("service_id").annotate(**sum_expressions()))
    names = _names(Service, f.organization_id, (row["service_id"] for row in rows))
    result = [
        {
            "key": str(row["service_id"] or ""),
            "label": names.get(
                row["service_id"], NO_SERVICE if row["service_id"] is None else "Deleted service"
            ),
            **figures(row),
        }
        for row in rows
    ]
    return sorted(result, key=lambda row: (-row["incidents"], row["label"]))


def by_severity(f: Filters) -> list[dict]:
    found = {row["severity"]: row for row in rollup_rows(f).values("severity").annotate(**sum_expressions())}
    return [{"key": sev.value, "label": sev.label, **figures(found.get(sev.value, {}))} for sev in Severity]


GROUPERS = {"day": by_day, "service": by_service, "severity": by_severity}


def grouped(f: Filters) -> list[dict]:
    return GROUPERS[f.group_by](f)


def severity_by_day(f: Filters) -> dict[str, dict[str, int]]:
    """{day: {severity: incidents}} for the stacked volume chart."""
    result: dict[str, dict[str, int]] = {}
    for row in rollup_rows(f).values("day", "severity").annotate(**sum_expressions()):
        result.setdefault(row["day"].isoformat(), {})[row["severity"]] = int(row["incidents"] or 0)
    return result


def service_severity(f: Filters) -> list[dict]:
    """Incident volume by service and severity: one row per service, a count per severity."""
    rows = rollup_rows(f).values("service_id", "severity").annotate(**sum_expressions())
    matrix: dict = {}
    for row in rows:
        matrix.setdefault(row["service_id"], {})[row["severity"]] = int(row["incidents"] or 0)
    names = _names(Service, f.organization_id, matrix)
    result = []
    for service_id, counts in matrix.items():
        label = names.get(service_id, NO_SERVICE if service_id is None else "Deleted service")
        result.append(
            {
                "key": str(service_id or ""),
                "label": label,
                "total": sum(counts.values()),
                **{sev.value: counts.get(sev.value, 0) for sev in Severity},
            }
        )
    return sorted(result, key=lambda row: (-row["total"], row["label"]))


def noisiest_sources(f: Filters) -> list[dict]:
    """Alert sources by the alerts they sent, then the incidents they opened."""
    rows = list(rollup_rows(f).values("integration_id", "source").annotate(**sum_expressions()))
    names = _names(Integration, f.organization_id, (row["integration_id"] for row in rows))
    result = []
    for row in rows:
        if row["integration_id"] is not None:
            label = names.get(row["integration_id"], "Deleted integration")
            kind = "integration"
        else:
            label, kind = row["source"] or "manual", "source"
        result.append(
            {
                "key": f"{kind}:{row['integration_id'] or row['source']}",
                "label": label,
                "kind": kind,
                "incidents": int(row["incidents"] or 0),
                "alerts": int(row["alerts"] or 0),
                "alerts_per_incident": round(row["alerts"] / row["incidents"], 2)
                if row["incidents"]
                else None,
                "escalated": int(row["escalated"] or 0),
            }
        )
    return sorted(result, key=lambda row: (-row["alerts"], -row["incidents"], row["label"]))


def bottlenecks(f: Filters) -> list[dict]:
    return stages(rollup_rows(f).aggregate(**sum_expressions()))


def waiting_now(f: Filters, now) -> list[dict]:
    """Open incidents by stage right now (a live read of the few open rows, not the rollup)."""
    incidents = Incident.objects.filter(organization_id=f.organization_id, status__in=list(OPEN_STATUSES))
    if f.team is not None:
        incidents = incidents.filter(team=f.team)
    if f.service is not None:
        incidents = incidents.filter(service=f.service)
    found = {
        row["status"]: row
        for row in incidents.values("status").annotate(n=Count("id"), oldest=Min("created_at"))
    }
    result = []
    for status in OPEN_STATUSES:
        row = found.get(status, {})
        oldest = row.get("oldest")
        result.append(
            {
                "stage": status.value,
                "label": status.label,
                "incidents": row.get("n", 0),
                "oldest_waiting_seconds": round((now - oldest).total_seconds()) if oldest else None,
            }
        )
    return result
