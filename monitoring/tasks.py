"""Monitoring's beat ticks (entries in ``CELERY_BEAT_SCHEDULE``): checks, rollups, retention."""

from celery import shared_task

from monitoring.rollups import purge, roll_up
from monitoring.scheduler import run_check_tick


@shared_task(name="monitoring.check_tick", ignore_result=True)
def check_tick() -> int:
    return run_check_tick()


@shared_task(name="monitoring.rollup_tick", ignore_result=True)
def rollup_tick() -> int:
    return roll_up()


@shared_task(name="monitoring.retention_tick", ignore_result=True)
def retention_tick() -> int:
    return purge()
