"""Status pages' beat tick (entry ``statuspages-delivery`` in ``CELERY_BEAT_SCHEDULE``): first the
maintenance notices that start or end now (their updates join the outbox), then the outbox itself,
so a maintenance's start reaches subscribers in the same tick."""

from celery import shared_task

from monitoring.statuspages.delivery import run_delivery_tick
from monitoring.statuspages.services.transitions import run_maintenance_tick


@shared_task(name="monitoring.statuspages.delivery_tick", ignore_result=True)
def delivery_tick() -> int:
    run_maintenance_tick()
    return run_delivery_tick()
