"""How long an entry written now stays in MongoDB: the organization's retention of its kind.

Each document carries ``expire_at`` (its time plus those days) under a TTL index with
``expireAfterSeconds=0``: one index honours every organization's own setting. The setting is read
once a minute per process, not once per write (ingestion writes a payload per request).
"""

from __future__ import annotations

import threading
import time

from audit.retention.policy import effective_days
from audit.retention.registry import BY_KEY

CACHE_SECONDS = 60.0
_lock = threading.Lock()
_cache: dict[tuple[str, int | None], tuple[float, int]] = {}


def days_for(kind: str, organization_id: int | None) -> int:
    key = (kind, organization_id)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    days = effective_days(BY_KEY[kind], organization_id)
    with _lock:
        _cache[key] = (now + CACHE_SECONDS, days)
    return days


def forget() -> None:
    """Drop the cached settings (a changed override applies to the next write; tests)."""
    with _lock:
        _cache.clear()
