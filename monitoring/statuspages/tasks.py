"""Status pages' beat tick (entry ``statuspages-delivery`` in ``CELERY_BEAT_SCHEDULE``)."""

from celery import shared_task

from monitoring.statuspages.delivery import run_delivery_tick


@shared_task(name="monitoring.statuspages.delivery_tick", ignore_result=True)
def delivery_tick() -> int:
    return run_delivery_tick()
