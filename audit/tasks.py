"""The audit app's beat tick (entry ``audit-retention`` in ``CELERY_BEAT_SCHEDULE``): retention of
every kind in ``audit.retention.registry``, the ledger archive included."""

from celery import shared_task

from audit.retention.schedule import tick
from audit.sealing import seal_pending as sweep_staged


@shared_task(name="audit.retention_tick", ignore_result=True)
def retention_tick() -> int:
    return sum(outcome.removed for outcome in tick())


@shared_task(name="audit.eventlog_drain", ignore_result=True)
def eventlog_drain() -> int:
    from audit.eventlog import backend_name
    from audit.eventlog.shipping import drain, shipper

    if backend_name() != "mongo":
        return 0
    shipper.flush()
    return drain()


@shared_task(name="audit.seal_pending", ignore_result=True)
def seal_pending() -> int:
    """Seal staged ledger entries a process left behind (it died between its commit and its seal)."""
    return sweep_staged()
