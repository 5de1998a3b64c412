"""Analytics' beat ticks: keep the rollups in step, and compute the reports pages asked for.

Both take no arguments and are safe to run twice or concurrently: the refresh holds an advisory
lock (a second one returns at once), reports are claimed by a conditional update.
"""

from celery import shared_task

from opsplatform.analytics.services.refresh import refresh_rollups
from opsplatform.analytics.services.reports import prune_reports, run_report_tick


@shared_task(name="opsplatform.analytics.refresh_tick", ignore_result=True)
def refresh_tick() -> int:
    return refresh_rollups().days


@shared_task(name="opsplatform.analytics.report_tick", ignore_result=True)
def report_tick() -> int:
    done = run_report_tick()
    prune_reports()
    return done
