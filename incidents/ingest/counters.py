"""Integration counters (received, deduplicated, dropped, last received) kept in Redis.

Every ingestion request counts its events after its transaction commits; a beat tick moves the sums
into the integration row. Writing them to the row inside each request would make every request of
an integration wait for the previous one's row lock: ingestion would run one request at a time.

A request does not wait for Redis either: ``add`` sums its counts in this process, and one thread
per process sends what gathered to Redis in one round trip, ``INGEST_COUNTERS_PUSH_SECONDS`` after
the first count it has not sent. In an alert storm the group commit's thread counted each group in
Redis before it could take the next one (a round trip of 5-7 ms on a busy machine, a third of that
thread's cycle), and each new incident's request before its answer (docs/benchmarks.md). A count
Redis refuses stays here for the next push; a process that dies takes at most that interval's counts
with it: statistics, never alerts. Counts not yet sent are part of what ``pending`` answers here.

The flush takes a hash's contents and deletes it in one MULTI/EXEC, then adds them to the row; if the
database write fails, the numbers are put back into Redis for the next tick.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db.models import F
from django.db.models.functions import Greatest

from incidents.models import Integration
from opsplatform.core.kicks import redis_client

logger = logging.getLogger(__name__)

FIELDS = ("received", "deduplicated", "dropped")
# After Redis refused a push, the next one waits this long (the counts wait here meanwhile).
RETRY_SECONDS = 1.0


def client() -> redis.Redis:
    return redis_client()


def key_prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:ingest"


def _hash_key(integration_id) -> str:
    return f"{key_prefix()}:counters:{integration_id}"


def _dirty_key() -> str:
    return f"{key_prefix()}:counters:dirty"


@dataclass
class _Sums:
    received: int = 0
    deduplicated: int = 0
    dropped: int = 0
    last: float = 0.0

    def add(self, other: _Sums) -> None:
        self.received += other.received
        self.deduplicated += other.deduplicated
        self.dropped += other.dropped
        self.last = max(self.last, other.last)


def _send(taken: dict[int, _Sums]) -> None:
    pipe = client().pipeline(transaction=False)
    for integration_id, sums in taken.items():
        key = _hash_key(integration_id)
        for name in FIELDS:
            if value := getattr(sums, name):
                pipe.hincrby(key, name, value)
        pipe.hset(key, "last", repr(sums.last))
        pipe.sadd(_dirty_key(), integration_id)
    pipe.execute()


class UnsentCounts:
    """The counts this process added and has not sent to Redis yet, and the thread that sends them.

    ``add`` takes only the short lock of the sums; a send holds a second one for its round trip, so
    that ``pending`` (which takes it too) never reads a count both here and in Redis, or in neither."""

    def __init__(self):
        self._sums: dict[int, _Sums] = {}
        self._cond = threading.Condition()
        self._sending = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, integration_id: int, sums: _Sums) -> None:
        with self._cond:
            self._sums.setdefault(integration_id, _Sums()).add(sums)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest-counters", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _merge(self, taken: dict[int, _Sums]) -> None:
        with self._cond:
            for integration_id, sums in taken.items():
                self._sums.setdefault(integration_id, _Sums()).add(sums)
            self._cond.notify()  # the thread may have gone to wait while these were away

    def push(self) -> bool:
        """Send every count gathered so far in one round trip; whether Redis took them (if not,
        they stay for the next push)."""
        with self._sending:
            with self._cond:
                taken, self._sums = self._sums, {}
            if not taken:
                return True
            try:
                _send(taken)
                return True
            except redis.RedisError:
                logger.warning("integration counters kept in this process for now (Redis unavailable)")
                self._merge(taken)
                return False

    def pending(self, integration_id: int) -> tuple[_Sums, dict]:
        """This process's unsent sums for the integration and what Redis holds for it ({} when
        Redis is away), read with no send between them."""
        with self._sending:
            with self._cond:
                local = replace(self._sums.get(integration_id, _Sums()))
            try:
                return local, client().hgetall(_hash_key(integration_id))
            except redis.RedisError:
                return local, {}

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._sums:
                    self._cond.wait()
            time.sleep(settings.INGEST_COUNTERS_PUSH_SECONDS)  # what arrives meanwhile goes along
            if not self.push():
                time.sleep(RETRY_SECONDS)


@functools.cache
def unsent() -> UnsentCounts:
    """This process's unsent counts, made on first use."""
    return UnsentCounts()


def _push_at_exit() -> None:
    if unsent.cache_info().currsize:
        unsent().push()


# A forked child (a Celery pool process) has none of its parent's threads nor counts to send.
os.register_at_fork(after_in_child=unsent.cache_clear)
# A process that stops normally sends what it still holds.
atexit.register(_push_at_exit)


def add(integration_id: int, *, received=0, deduplicated=0, dropped=0, at: float | None = None) -> None:
    """Count one request's events, for the next push to Redis. Never waits for Redis, never raises."""
    last = at if at is not None else time.time()
    unsent().add(integration_id, _Sums(received, deduplicated, dropped, last))


def pending(integration_id: int) -> dict:
    """Counts not flushed yet (this process's unsent ones included), for pages that show live numbers."""
    local, raw = unsent().pending(integration_id)
    values = {name: int(raw.get(name.encode(), 0)) + getattr(local, name) for name in FIELDS}
    last = max(float(raw[b"last"]) if raw.get(b"last") else 0.0, local.last)
    values["last"] = datetime.fromtimestamp(last, tz=UTC) if last else None
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
    """Move every pending count into the integration rows (this process's unsent ones first);
    returns how many integrations changed."""
    unsent().push()
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
