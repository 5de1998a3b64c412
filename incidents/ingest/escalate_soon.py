"""Start the escalation of new incidents now, not at the next beat.

Without this, a new incident waits for the escalation tick Celery beat sends every
``ESCALATION_TICK_SECONDS``, and under a storm behind the ticks already queued. Ingestion asks for a
tick as soon as it commits new incidents; all web processes together ask at most every
``KICK_SECONDS`` (a key in Redis with that expiry; each process also keeps from asking Redis more
often), so a storm costs a few messages a second, not one per incident, and the paging queue is not
flooded with ticks that would find nothing. The tick is safe to run concurrently and
twice (``notifications.escalation``); the beat still runs it regardless, so a message lost here
costs latency only.

The task is sent by name: ``incidents`` sits below ``notifications`` in the layers and does not
import it. The broker's routes (``CELERY_TASK_ROUTES``) put it on the paging queue like the beat's.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from incidents.ingest import counters
from opsplatform.celery import app

logger = logging.getLogger(__name__)

TASK = "notifications.escalation_tick"
KICK_SECONDS = 0.25

_last = float("-inf")
_lock = threading.Lock()


def shared_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:ingest:escalate-soon"


def escalate_soon() -> bool:
    """Ask for an escalation tick unless this process asked within ``KICK_SECONDS``; whether it did."""
    global _last  # noqa: PLW0603 - one throttle per process
    if not settings.INGEST_ESCALATE_AT_ONCE:
        return False
    now = time.monotonic()
    with _lock:
        if now - _last < KICK_SECONDS:
            return False
        _last = now
    try:
        if not counters.client().set(shared_key(), 1, nx=True, px=int(KICK_SECONDS * 1000)):
            return False  # another process asked moments ago
        app.send_task(TASK)
    except Exception as exc:  # the beat's tick still comes: never fail an accepted alert for this
        logger.warning("escalation tick not requested (%s); the next beat runs it", type(exc).__name__)
        return False
    return True
