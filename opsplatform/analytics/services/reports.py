"""Big ranges on the page: a report computed by the report tick, its progress shown while it runs.

:func:`report_request` returns the report for the filters: a fresh finished one if there is one,
the one already pending or running, or a new pending row (and asks for a tick after commit, so the
work starts at once rather than at the next beat). :func:`run_report_tick` claims pending rows
with a conditional update (two ticks never compute the same report), records progress after each
section of the report, and stores the result or the error on the row. A report whose worker died
is claimed again once its lease runs out.

Reports are derived data, like the rollups: requesting one changes nothing anybody relies on, so
it writes no ledger entry.
"""

import hashlib
import json
import logging
from datetime import date, timedelta

from celery import current_app
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from incidents.models import Service
from opsplatform.accounts.models import Team
from opsplatform.analytics.models import Report, ReportStatus
from opsplatform.analytics.selectors.filters import Filters
from opsplatform.analytics.selectors.report import build_report
from opsplatform.core.actors import Actor

logger = logging.getLogger(__name__)

REPORT_TICK = "opsplatform.analytics.report_tick"
# A finished report answers the same filters for this long; the rollups it read refresh every minute.
FRESH_FOR = timedelta(minutes=5)
# A running report not finished after this is taken over (its worker died).
LEASE = timedelta(minutes=10)
REPORTS_PER_TICK = 5


def report_key(f: Filters) -> str:
    payload = json.dumps({"organization": f.organization_id, **f.as_params()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _kick() -> None:
    try:
        current_app.send_task(REPORT_TICK)
    except Exception:  # the broker is down; the beat tick picks the report up
        logger.warning("could not enqueue %s; the beat tick will pick it up", REPORT_TICK, exc_info=True)


def report_request(*, actor: Actor, filters: Filters) -> Report:
    key = report_key(filters)
    now = timezone.now()
    existing = (
        Report.objects.filter(organization_id=filters.organization_id, key=key)
        .exclude(status=ReportStatus.FAILED)
        .order_by("-created_at")
        .first()
    )
    if existing is not None and (
        existing.status != ReportStatus.DONE or existing.finished_at >= now - FRESH_FOR
    ):
        return existing
    report = Report.objects.create(
        organization_id=filters.organization_id,
        requested_by=actor.user,
        key=key,
        params=filters.as_params(),
    )
    transaction.on_commit(_kick)
    return report


def filters_from_params(report: Report) -> Filters:
    params = report.params
    team = Team.objects.filter(organization_id=report.organization_id, pk=params.get("team")).first()
    service = Service.objects.filter(organization_id=report.organization_id, pk=params.get("service")).first()
    return Filters(
        organization_id=report.organization_id,
        time_zone=params["time_zone"],
        start=date.fromisoformat(params["from"]),
        end=date.fromisoformat(params["to"]),
        team=team,
        service=service,
        group_by=params.get("group_by", "day"),
    )


def _claim(now) -> Report | None:
    candidates = Report.objects.filter(status=ReportStatus.PENDING).order_by("created_at")
    stale = Report.objects.filter(status=ReportStatus.RUNNING, started_at__lt=now - LEASE)
    for report in [*candidates[:REPORTS_PER_TICK], *stale[:REPORTS_PER_TICK]]:
        # Conditional update: only the tick that moves the row on from what it read computes it.
        won = Report.objects.filter(pk=report.pk, status=report.status, started_at=report.started_at).update(
            status=ReportStatus.RUNNING, started_at=now, progress=0
        )
        if won:
            report.status, report.started_at = ReportStatus.RUNNING, now
            return report
    return None


def run_report(report: Report) -> None:
    started = report.started_at

    def progress(done: int, total: int) -> None:
        Report.objects.filter(pk=report.pk, started_at=started).update(progress=int(done * 100 / total))

    try:
        result = build_report(filters_from_params(report), progress=progress)
    except Exception as exc:  # one bad report must not stop the others (invariant 13)
        logger.exception("analytics report %s failed", report.pk)
        Report.objects.filter(pk=report.pk, started_at=started).update(
            status=ReportStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        return
    Report.objects.filter(pk=report.pk, started_at=started).update(
        status=ReportStatus.DONE,
        progress=100,
        result=json.loads(json.dumps(result, cls=DjangoJSONEncoder)),
        finished_at=timezone.now(),
    )


def run_report_tick(now=None) -> int:
    done = 0
    for _ in range(REPORTS_PER_TICK):
        report = _claim(now or timezone.now())
        if report is None:
            break
        run_report(report)
        done += 1
    return done


def prune_reports(now=None, keep=timedelta(days=1)) -> int:
    now = now or timezone.now()
    return Report.objects.filter(created_at__lt=now - keep).delete()[0]
