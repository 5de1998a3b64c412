"""Per-integration request rate limits, counted in Redis like the API's.

Same algorithm as ``opsplatform.api.throttling.PerTokenRateThrottle`` (one Redis counter per fixed
window, moved with atomic INCRBY, and a sliding estimate: the previous window's count weighted by its
remaining overlap, plus the current count), but cheaper, because this check runs on every ingestion
request and an alert storm is nothing but ingestion requests:

* one Redis round trip instead of three when it asks Redis at all;
* a web process takes the permits of a busy integration from Redis in **leases** of up to
  ``MAX_LEASE`` (1 % of the limit, never more than 50): it counts the whole lease at once and hands
  the permits out to its requests without asking again until they are used up or the window ends.
  In a storm that turns ~50 round trips (each ~0.3 ms of a web process's CPU) into one.

What a lease costs in accuracy: permits a process leased but did not use in a window count as sent.
So a sender can be throttled at most one lease per web process early; never late, because a permit
is only handed out after Redis counted it. A limit below 200 requests per window leases one permit
at a time: exactly as strict as asking every time.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis

from incidents.ingest import counters
from incidents.ingest.conf import ingest_settings

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_LEASE = 50


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period[0]]


def throttle_key(integration_id: int) -> str:
    """The name its counters start with. Not through ``caches[…].make_key``: the cache handler is
    per request context, so that would build a cache client on every request."""
    return f"{counters.key_prefix()}:throttle:{integration_id}"


def lease_size(limit: int) -> int:
    return max(1, min(limit // 100, MAX_LEASE))


def _seconds_until_allowed(limit: int, previous: int, current: int, elapsed: float, duration: int) -> float:
    if current + 1 <= limit:
        needed = 1 - (limit - current - 1) / previous if previous else elapsed
        return max((needed - elapsed) * duration, 1)
    needed_next = max(1 - (limit - 1) / current, 0) if current else 0
    return max(math.ceil(((1 - elapsed) + needed_next) * duration), 1)


@dataclass
class _Lease:
    window: int
    left: int


class _Leases:
    """This process's unused permits, per integration counter and window."""

    def __init__(self):
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def take(self, key: str, window: int) -> bool:
        with self._lock:
            lease = self._leases.get(key)
            if lease is None or lease.window != window or lease.left <= 0:
                return False
            lease.left -= 1
            return True

    def keep(self, key: str, window: int, left: int) -> None:
        with self._lock:
            if left > 0:
                self._leases[key] = _Lease(window, left)
            else:
                self._leases.pop(key, None)


leases = _Leases()


def throttle_wait(integration, request=None, *, now: float | None = None) -> float | None:
    """Seconds to wait before the next request is allowed, or None when this one may proceed.

    A Redis failure lets the request through: losing the limit for a moment beats losing alerts."""
    limit, duration = parse_rate(integration.throttle_rate or ingest_settings().throttle_rate)
    now = time.time() if now is None else now
    window, offset = divmod(now, duration)
    window = int(window)
    base = throttle_key(integration.pk)
    # The rate is part of the lease's name: a changed limit starts a lease of its own size.
    lease_key = f"{base}:{limit}/{duration}"
    if leases.take(lease_key, window):
        return None
    elapsed = offset / duration
    current_key, previous_key = f"{base}:{window}", f"{base}:{window - 1}"
    size = lease_size(limit)
    try:
        pipe = counters.client().pipeline(transaction=False)
        pipe.incrby(current_key, size)
        # The counter outlives its window by one more, for the next window's estimate.
        pipe.expire(current_key, duration * 2 + 1)
        pipe.get(previous_key)
        current, _, previous = pipe.execute()
        previous = int(previous or 0)
        # How many of the permits just counted fit under the limit: this request needs one.
        fits = min(size, math.floor(limit - previous * (1 - elapsed) - (current - size)))
        if fits < size:
            # A refused request, and permits past the limit, do not count against the sender.
            counters.client().decrby(current_key, size - max(fits, 0))
    except redis.RedisError:
        logger.warning("integration throttle unavailable; request allowed")
        return None
    if fits >= 1:
        leases.keep(lease_key, window, fits - 1)
        return None
    return _seconds_until_allowed(limit, previous, current - size, elapsed, duration)
