"""Asking for a beat tick now rather than at its next beat, without flooding its queue.

A tick claims whatever is due when it starts, so one kick waiting in the queue serves every
request made before it starts: a second one would only run after it and find nothing. So a kick is
sent only when none is waiting: a key in Redis marks it waiting, the tick clears the key as it
starts (``Kick.started``), and the key expires after ``pending_seconds`` should the message be lost.
Each process also keeps from asking Redis more often than ``local_seconds``.

Beat still sends every tick on its schedule: a kick not sent (Redis away, a lost message) costs
latency, never work. Tasks are sent by name, so a lower layer can kick a higher layer's tick; the
broker's routes put the message on the tick's queue like the beat's.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache

import redis
from celery import current_app
from django.conf import settings

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def redis_client() -> redis.Redis:
    """One Redis client per process for small, fast keys (counters, flags, generations)."""
    return _client(settings.REDIS_URL)


class Kick:
    def __init__(self, task: str, *, pending_seconds: float = 5.0, local_seconds: float = 0.05):
        self.task = task
        self.pending_seconds = pending_seconds
        self.local_seconds = local_seconds
        self._last = float("-inf")
        self._lock = threading.Lock()

    def key(self) -> str:
        return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:kick:{self.task}"

    def forget(self) -> None:
        """As if this process had not asked lately (tests)."""
        self._last = float("-inf")

    def __call__(self) -> bool:
        """Send the task unless a kick of it is waiting or this process asked just now; whether it
        was sent."""
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.local_seconds:
                return False
            self._last = now
        try:
            if not redis_client().set(self.key(), 1, nx=True, px=int(self.pending_seconds * 1000)):
                return False  # one is waiting in the queue already
            current_app.send_task(self.task)
        except Exception as exc:  # the beat's tick still comes
            logger.warning("%s not kicked (%s); the next beat runs it", self.task, type(exc).__name__)
            return False
        return True

    def started(self) -> None:
        """The tick is running: a request from now on needs a kick of its own."""
        try:
            redis_client().delete(self.key())
        except Exception as exc:  # the key expires by itself
            logger.warning("kick key of %s not cleared (%s)", self.task, type(exc).__name__)
