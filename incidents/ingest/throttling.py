"""Per-integration request rate limits, counted in Redis like the API's.

Same algorithm as ``opsplatform.api.throttling.PerTokenRateThrottle`` (one Redis counter per fixed
window, moved with atomic INCR, and a sliding estimate: the previous window's count weighted by its
remaining overlap, plus the current count), but in one Redis round trip per request instead of three:
ingestion is the busiest path there is, and this check runs on every request.
"""

from __future__ import annotations

import logging
import math
import time

import redis
from django.core.cache import caches

from incidents.ingest import counters
from incidents.ingest.conf import ingest_settings

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period[0]]


def _seconds_until_allowed(limit: int, previous: int, current: int, elapsed: float, duration: int) -> float:
    if current + 1 <= limit:
        needed = 1 - (limit - current - 1) / previous if previous else elapsed
        return max((needed - elapsed) * duration, 1)
    needed_next = max(1 - (limit - 1) / current, 0) if current else 0
    return max(math.ceil(((1 - elapsed) + needed_next) * duration), 1)


def throttle_wait(integration, request=None, *, now: float | None = None) -> float | None:
    """Seconds to wait before the next request is allowed, or None when this one may proceed.

    A Redis failure lets the request through: losing the limit for a moment beats losing alerts."""
    limit, duration = parse_rate(integration.throttle_rate or ingest_settings().throttle_rate)
    now = time.time() if now is None else now
    window, offset = divmod(now, duration)
    elapsed = offset / duration
    base = caches["default"].make_key(f"ingest-throttle:{integration.pk}")
    current_key, previous_key = f"{base}:{int(window)}", f"{base}:{int(window) - 1}"
    try:
        pipe = counters.client().pipeline(transaction=False)
        pipe.incr(current_key)
        # The counter outlives its window by one more, for the next window's estimate.
        pipe.expire(current_key, duration * 2 + 1)
        pipe.get(previous_key)
        current, _, previous = pipe.execute()
        previous = int(previous or 0)
        if previous * (1 - elapsed) + current <= limit:
            return None
        # A refused request does not count against the sender.
        counters.client().decr(current_key)
    except redis.RedisError:
        logger.warning("integration throttle unavailable; request allowed")
        return None
    return _seconds_until_allowed(limit, previous, current - 1, elapsed, duration)
