"""Monitoring's beat ticks (entries in ``CELERY_BEAT_SCHEDULE``): checks and rollups.

Raw results and minute rollups past retention are deleted by the retention runner
(``audit.retention``, kinds ``check_results`` and ``check_minute_rollups``)."""

from celery import shared_task

from monitoring.rollups import roll_up
from monitoring.scheduler import run_check_tick


@shared_task(name="monitoring.check_tick", ignore_result=True)
def check_tick() -> int:
    return run_check_tick()


@shared_task(name="monitoring.rollup_tick", ignore_result=True)
def rollup_tick() -> int:
    return roll_up()
