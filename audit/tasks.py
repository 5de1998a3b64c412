"""The audit app's beat tick (entry ``audit-retention`` in ``CELERY_BEAT_SCHEDULE``): retention of
every kind in ``audit.retention.registry``, the ledger archive included."""

from celery import shared_task

from audit.retention.schedule import tick


@shared_task(name="audit.retention_tick", ignore_result=True)
def retention_tick() -> int:
    return sum(outcome.removed for outcome in tick())
