"""Beat ticks of the incidents app. Each is safe to run twice and concurrently."""

from celery import shared_task
from django.utils import timezone

from incidents.models import Incident, Status
from incidents.services import incident_unsnooze
from incidents.sla.tick import run_sla_tick
from opsplatform.core.actors import Actor


@shared_task(name="incidents.sla_tick", ignore_result=True)
def sla_tick() -> int:
    return run_sla_tick()


def wake_snoozed(now=None) -> int:
    now = now or timezone.now()
    woken = 0
    due = Incident.objects.filter(status=Status.SNOOZED, snoozed_until__lte=now).select_related(
        "organization"
    )
    for incident in due.iterator(chunk_size=200):
        # The service locks and re-checks: an incident acknowledged meanwhile is left alone.
        result = incident_unsnooze(
            actor=Actor.system("snooze", organization=incident.organization), incident=incident
        )
        woken += result.status == Status.TRIGGERED
    return woken


@shared_task(name="incidents.unsnooze_tick", ignore_result=True)
def unsnooze_tick() -> int:
    return wake_snoozed()
