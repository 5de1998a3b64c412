"""Beat ticks of alert ingestion. Each is safe to run twice and concurrently.

* ``incidents.ingest_heartbeat_tick``: integrations whose ``next_check_at`` passed are claimed with
  ``FOR UPDATE SKIP LOCKED`` (overlapping ticks split the work), their timer is cleared and a
  "heartbeat missed" alert goes through the pipeline in the same transaction; the next ping resolves
  it and re-arms the timer.
* ``incidents.ingest_counters_tick``: moves the counters from Redis into the integration rows.

Raw payloads past their retention are deleted by the retention runner (``audit.retention``, kind
``raw_payloads``), with every other kind of data.
"""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from incidents.ingest import counters
from incidents.ingest.formats.heartbeat import missed_event
from incidents.ingest.pipeline import ingest
from incidents.models import Integration, IntegrationKind

BATCH = 100


def check_heartbeats(now=None) -> int:
    """Report every overdue heartbeat once; returns how many were reported."""
    now = now or timezone.now()
    reported = 0
    while True:
        with transaction.atomic():
            due = list(
                Integration.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("organization", "service")
                .filter(kind=IntegrationKind.HEARTBEAT, enabled=True, next_check_at__lte=now)
                .order_by("next_check_at")[:BATCH]
            )
            for integration in due:
                Integration.objects.filter(pk=integration.pk).update(next_check_at=None)
                ingest(integration=integration, events=[missed_event(integration, now=now)], now=now)
                reported += 1
        if len(due) < BATCH:
            return reported


@shared_task(name="incidents.ingest_heartbeat_tick", ignore_result=True)
def heartbeat_tick() -> int:
    return check_heartbeats()


@shared_task(name="incidents.ingest_counters_tick", ignore_result=True)
def counters_tick() -> int:
    return counters.flush()
