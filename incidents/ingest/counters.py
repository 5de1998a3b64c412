"""Integration counters (received, deduplicated, dropped, last received) kept in Redis.

Every ingestion request adds to a Redis hash after its transaction commits; a beat tick moves the
sums into the integration row. Writing them to the row inside each request would make every request
of an integration wait for the previous one's row lock: ingestion would run one request at a time.

The flush takes a hash's contents and deletes it in one MULTI/EXEC, then adds them to the row; if the
database write fails, the numbers are put back into Redis for the next tick.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db.models import F
from django.db.models.functions import Greatest

from incidents.models import Integration
from opsplatform.core.kicks import redis_client

logger = logging.getLogger(__name__)

FIELDS = ("received", "deduplicated", "dropped")


def client() -> redis.Redis:
    return redis_client()


def key_prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:ingest"


def _hash_key(integration_id) -> str:
    return f"{key_prefix()}:counters:{integration_id}"


def _dirty_key() -> str:
    return f"{key_prefix()}:counters:dirty"


def add(integration_id: int, *, received=0, deduplicated=0, dropped=0, at: float | None = None) -> None:
    """Count one request's events. Never raises: a Redis outage costs statistics, not alerts."""
    try:
        pipe = client().pipeline(transaction=False)
        key = _hash_key(integration_id)
        for name, value in (("received", received), ("deduplicated", deduplicated), ("dropped", dropped)):
            if value:
                pipe.hincrby(key, name, value)
        pipe.hset(key, "last", repr(at if at is not None else time.time()))
        pipe.sadd(_dirty_key(), integration_id)
        pipe.execute()
    except redis.RedisError:
        logger.warning("integration counters not recorded (Redis unavailable)")


def pending(integration_id: int) -> dict:
    """Counts not flushed yet, for pages that show live numbers."""
    try:
        raw = client().hgetall(_hash_key(integration_id))
    except redis.RedisError:
        return {}
    values = {name: int(raw.get(name.encode(), 0)) for name in FIELDS}
    last = raw.get(b"last")
    values["last"] = datetime.fromtimestamp(float(last), tz=UTC) if last else None
    return values


def _take(integration_id) -> dict:
    key = _hash_key(integration_id)
    pipe = client().pipeline(transaction=True)
    pipe.hgetall(key)
    pipe.delete(key)
    pipe.srem(_dirty_key(), integration_id)
    raw, _, _ = pipe.execute()
    return raw


def _put_back(integration_id, raw: dict) -> None:
    key = _hash_key(integration_id)
    pipe = client().pipeline(transaction=False)
    for name in FIELDS:
        value = int(raw.get(name.encode(), 0))
        if value:
            pipe.hincrby(key, name, value)
    if raw.get(b"last"):
        pipe.hset(key, "last", raw[b"last"])
    pipe.sadd(_dirty_key(), integration_id)
    pipe.execute()


def flush() -> int:
    """Move every pending count into the integration rows; returns how many integrations changed."""
    try:
        dirty = client().smembers(_dirty_key())
    except redis.RedisError:
        logger.warning("integration counters not flushed (Redis unavailable)")
        return 0
    flushed = 0
    for member in dirty:
        integration_id = int(member)
        raw = _take(integration_id)
        if not raw:
            continue
        values = {name: int(raw.get(name.encode(), 0)) for name in FIELDS}
        last = raw.get(b"last")
        update = {
            "received_count": F("received_count") + values["received"],
            "deduplicated_count": F("deduplicated_count") + values["deduplicated"],
            "dropped_count": F("dropped_count") + values["dropped"],
        }
        if last:
            at = datetime.fromtimestamp(float(last), tz=UTC)
            update["last_received_at"] = Greatest(F("last_received_at"), at)
        try:
            # Greatest() is NULL when the row has none yet: a second statement fills that case.
            Integration.objects.filter(pk=integration_id).update(**update)
            if last:
                Integration.objects.filter(pk=integration_id, last_received_at__isnull=True).update(
                    last_received_at=at
                )
        except Exception:
            _put_back(integration_id, raw)
            raise
        flushed += 1
    return flushed
