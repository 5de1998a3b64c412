"""``/analytics/``: the page, its CSV exports and the progress of a background report.

Ranges up to ``BACKGROUND_AFTER_DAYS`` are computed in the request (rollup reads take
milliseconds); longer ones are a background report (``services/reports.py``) whose progress the
page polls, so no request computes a long range and none can time out.
"""

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from incidents.models import Service, Severity
from opsplatform.accounts.models import Team
from opsplatform.analytics.charts import page_charts
from opsplatform.analytics.models import Report, ReportStatus
from opsplatform.analytics.selectors.filters import parse_filters
from opsplatform.analytics.selectors.oncall import fairness_rows
from opsplatform.analytics.selectors.report import build_report
from opsplatform.analytics.services.reports import report_request
from opsplatform.analytics.services.timezones import zone_name
from opsplatform.analytics.tables import TABLES, headers_of, title_of
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.tenancy import get_in_organization_or_404

BACKGROUND_AFTER_DAYS = 92
PAGE_SIZE = 25


def _with_derived(report: dict) -> dict:
    report["fairness_rows"] = fairness_rows(report.get("fairness", []))
    # The workflow figures are one row each: the page's one-row tables and their CSV exports.
    workflows = report.get("workflows") or {}
    report["approval_wait"] = [workflows["approvals"]] if "approvals" in workflows else []
    report["task_backlog"] = [workflows["tasks"]] if "tasks" in workflows else []
    return report


def _report_for(request, f) -> tuple[dict | None, Report | None]:
    """(the figures, None) when ready; (None, the pending report) while a background job works."""
    if f.days <= BACKGROUND_AFTER_DAYS:
        return _with_derived(build_report(f)), None
    report = report_request(actor=request.actor, filters=f)
    if report.status == ReportStatus.DONE:
        return _with_derived(report.result), report
    return None, report


def _table_pages(request, f, report: dict) -> list[dict]:
    tables = []
    for table in TABLES.values():
        param = f"{table.key}_page"
        page = Paginator(report.get(table.section, []), PAGE_SIZE).get_page(request.GET.get(param))
        tables.append(
            {
                "key": table.key,
                "title": title_of(table, f.group_by),
                "columns": list(zip(table.columns, headers_of(table, f.group_by), strict=True)),
                "page": page,
                "param": param,
                "total": page.paginator.count,
                "export_url": reverse("analytics:export", args=[table.key]) + "?" + f.querystring(),
            }
        )
    return tables


def _choices(request):
    org = request.organization
    return {
        "teams": Team.objects.filter(organization=org).order_by("name"),
        "services": Service.objects.filter(organization=org).order_by("name"),
        "group_by_choices": [("day", "Day"), ("service", "Service"), ("severity", "Severity")],
        "severities": Severity,
    }


@requires(Capability.ANALYTICS_VIEW)
def analytics_page(request):
    parsed = parse_filters(request.organization, request.GET)
    context = {
        **_choices(request),
        "errors": parsed.errors,
        "time_zone": zone_name(request.organization.time_zone),
        # What the form shows: the request's own values, so a rejected one can be corrected.
        "form_values": {
            key: request.GET.get(key, "") for key in ("from", "to", "team", "service", "group_by")
        },
    }
    if parsed.errors:
        return render(request, "analytics/page.html", context, status=400)
    f = parsed.filters
    context["form_values"] = f.query(group_by=f.group_by)
    report, job = _report_for(request, f)
    context.update(filters=f, job=job)
    if report is not None:
        context.update(
            report=report,
            totals=report["totals"],
            tables={t["key"]: t for t in _table_pages(request, f, report)},
            charts=page_charts(report),
        )
    return render(request, "analytics/page.html", context)


@requires(Capability.ANALYTICS_VIEW)
def report_status(request, pk: int):
    """The progress fragment the page polls; once the report is done, the page reloads itself."""
    report = get_in_organization_or_404(Report, request.organization, pk=pk)
    response = render(request, "analytics/_progress.html", {"job": report})
    if report.status == ReportStatus.DONE and request.htmx:
        response["HX-Refresh"] = "true"
    return response


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A name a spreadsheet would run as a formula is written as text.
        return "'" + value
    return value


@requires(Capability.ANALYTICS_VIEW)
def export_csv(request, table: str):
    spec = TABLES.get(table)
    if spec is None:
        raise Http404("No such table.")
    parsed = parse_filters(request.organization, request.GET)
    if parsed.errors:
        return HttpResponse(
            "; ".join(f"{key}: {message}" for key, message in parsed.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    f = parsed.filters
    report, _job = _report_for(request, f)
    if report is None:
        messages.info(request, "This range is being computed; the export is ready when the report is.")
        return redirect(reverse("analytics:index") + "?" + f.querystring())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = (
        f'attachment; filename="analytics-{table}-{f.start}-{f.end}-{stamp}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(headers_of(spec, f.group_by))
    for row in report.get(spec.section, []):
        writer.writerow([_cell(row.get(column.key)) for column in spec.columns])
    return response
