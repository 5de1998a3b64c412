"""Start the escalation of new incidents now, not at the next beat.

Without this, a new incident waits for the escalation tick Celery beat sends every
``ESCALATION_TICK_SECONDS``. Ingestion kicks a tick as soon as it commits new incidents
(``opsplatform.core.kicks``): only when no kicked tick is waiting in the paging queue already, so a
storm costs one message per tick that runs, not one per incident, and the queue never fills with
ticks that would find nothing. The tick clears the mark as it starts (``notifications.tasks``).

The task is sent by name: ``incidents`` sits below ``notifications`` in the layers and does not
import it. The broker's routes (``CELERY_TASK_ROUTES``) put it on the paging queue like the beat's.
"""

from __future__ import annotations

from django.conf import settings

from opsplatform.core.kicks import Kick

TASK = "notifications.escalation_tick"
kick = Kick(TASK)


def escalate_soon() -> bool:
    """Kick an escalation tick (unless one is waiting); whether this call sent it."""
    if not settings.INGEST_ESCALATE_AT_ONCE:
        return False
    return kick()
