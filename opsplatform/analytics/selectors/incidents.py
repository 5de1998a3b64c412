"""Incident figures over a range, from the daily rollup."""

from incidents.models import OPEN_STATUSES, Incident, Integration, Service, Severity
from opsplatform.analytics.models import IncidentRollup
from opsplatform.analytics.selectors.figures import SUMS, figures, stages, sum_expressions
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


def _add(total: dict, row: dict) -> dict:
    for name in SUMS:
        total[name] = total.get(name, 0) + int(row.get(name) or 0)
    return total


def day_severity_rows(f: Filters) -> list[dict]:
    """The range's sums per (day, severity): totals, the trend and the severity table all come
    from this one read."""
    return list(rollup_rows(f).values("day", "severity").annotate(**sum_expressions()))


def service_severity_rows(f: Filters) -> list[dict]:
    return list(rollup_rows(f).values("service_id", "severity").annotate(**sum_expressions()))


def totals_from(rows: list[dict]) -> dict:
    total: dict = {}
    for row in rows:
        _add(total, row)
    return figures(total)


def totals(f: Filters) -> dict:
    return figures(rollup_rows(f).aggregate(**sum_expressions()))


def _names(model, organization_id, ids) -> dict:
    ids = {pk for pk in ids if pk is not None}
    return dict(model.objects.filter(organization_id=organization_id, pk__in=ids).values_list("pk", "name"))


def _service_label(names: dict, service_id) -> str:
    if service_id is None:
        return NO_SERVICE
    return names.get(service_id, "Deleted service")


def by_day_from(f: Filters, rows: list[dict]) -> list[dict]:
    found: dict = {}
    for row in rows:
        _add(found.setdefault(row["day"], {}), row)
    # Every day of the range, empty ones too: a trend line must not skip the quiet days.
    return [
        {"key": day.isoformat(), "label": day.isoformat(), **figures(found.get(day, {}))}
        for day in days_between(f.start, f.end)
    ]


def by_severity_from(rows: list[dict]) -> list[dict]:
    found: dict = {}
    for row in rows:
        _add(found.setdefault(row["severity"], {}), row)
    return [{"key": sev.value, "label": sev.label, **figures(found.get(sev.value, {}))} for sev in Severity]


def by_service_from(f: Filters, rows: list[dict]) -> list[dict]:
    found: dict = {}
    for row in rows:
        _add(found.setdefault(row["service_id"], {}), row)
    names = _names(Service, f.organization_id, found)
    result = [
        {"key": str(service_id or ""), "label": _service_label(names, service_id), **figures(sums)}
        for service_id, sums in found.items()
    ]
    return sorted(result, key=lambda row: (-row["incidents"], row["label"]))


def by_day(f: Filters) -> list[dict]:
    return by_day_from(f, day_severity_rows(f))


def by_severity(f: Filters) -> list[dict]:
    return by_severity_from(day_severity_rows(f))


def by_service(f: Filters) -> list[dict]:
    return by_service_from(f, service_severity_rows(f))


GROUPERS = {"day": by_day, "service": by_service, "severity": by_severity}


def grouped(f: Filters) -> list[dict]:
    return GROUPERS[f.group_by](f)


def severity_trend_from(f: Filters, rows: list[dict]) -> list[dict]:
    """Incidents per day and severity, every day of the range: the stacked volume chart."""
    per_day: dict = {}
    for row in rows:
        per_day.setdefault(row["day"], {})[row["severity"]] = int(row["incidents"] or 0)
    return [
        {"day": day.isoformat(), **{sev.value: per_day.get(day, {}).get(sev.value, 0) for sev in Severity}}
        for day in days_between(f.start, f.end)
    ]


def service_severity_from(f: Filters, rows: list[dict]) -> list[dict]:
    """Incident volume by service and severity: one row per service, a count per severity."""
    matrix: dict = {}
    for row in rows:
        matrix.setdefault(row["service_id"], {})[row["severity"]] = int(row["incidents"] or 0)
    names = _names(Service, f.organization_id, matrix)
    result = [
        {
            "key": str(service_id or ""),
            "label": _service_label(names, service_id),
            "total": sum(counts.values()),
            **{sev.value: counts.get(sev.value, 0) for sev in Severity},
        }
        for service_id, counts in matrix.items()
    ]
    return sorted(result, key=lambda row: (-row["total"], row["label"]))


def service_severity(f: Filters) -> list[dict]:
    return service_severity_from(f, service_severity_rows(f))


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


def bottlenecks_from(rows: list[dict]) -> list[dict]:
    total: dict = {}
    for row in rows:
        _add(total, row)
    return stages(total)


# "Waiting now" counts at most this many open incidents per stage: a backlog that large reads the
# same ("1,000 or more"), and the count stays an index range read whatever the backlog.
WAITING_COUNT_CAP = 1_000


def waiting_now(f: Filters, now) -> list[dict]:
    """Open incidents by stage right now (a live read of the open rows, not the rollup), each stage
    a bounded read of the (organization, status, created_at) index."""
    incidents = Incident.objects.filter(organization_id=f.organization_id)
    if f.team is not None:
        incidents = incidents.filter(team=f.team)
    if f.service is not None:
        incidents = incidents.filter(service=f.service)
    result = []
    for status in OPEN_STATUSES:
        rows = incidents.filter(status=status)
        count = rows.order_by()[:WAITING_COUNT_CAP].count()
        oldest = rows.order_by("created_at").values_list("created_at", flat=True).first() if count else None
        result.append(
            {
                "stage": status.value,
                "label": status.label,
                "incidents": count,
                "capped": count >= WAITING_COUNT_CAP,
                "oldest_waiting_seconds": round((now - oldest).total_seconds()) if oldest else None,
            }
        )
    return result
