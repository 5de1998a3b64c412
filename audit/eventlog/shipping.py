"""Getting entries to MongoDB without making anyone wait for it, and without losing any.

After a request commits, its documents join this process's bounded buffer and a background thread
ships them in batches (``insert_many``, unordered, a few retries with backoff). Ids are chosen
before the write, so a batch that is retried after a partial success stores nothing twice
(duplicate-key errors are the entries already there). When MongoDB keeps failing, or the buffer is
full, the documents go to the PostgreSQL outbox (``EventLogOutbox``) instead, and MongoDB is left
alone for ``EVENT_LOG_MONGO_PAUSE_SECONDS`` (so an outage costs requests nothing, not three seconds
of server selection each). The beat tick ``audit.eventlog_drain`` moves outbox rows to MongoDB
once it answers again. A process stopped normally ships (or spills) its buffer at exit; one killed
outright loses what its buffer held, at most ``EVENT_LOG_SHIP_SECONDS`` of entries.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque

from bson import json_util
from django.conf import settings
from django.db import transaction
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, PyMongoError

from opsplatform.core import mongo

logger = logging.getLogger("audit.eventlog")
DUPLICATE_KEY = 11000


def insert(collection: str, documents: list[dict]) -> None:
    """Insert, treating entries already there (a retry after a partial write) as written."""
    from audit.eventlog.log import registered

    ensure_indexes(registered()[collection])
    try:
        mongo.database()[collection].insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise


_indexed: set[tuple[int, str]] = set()
_index_lock = threading.Lock()


def ensure_indexes(log) -> None:
    key = (id(mongo.client()), log.name)
    with _index_lock:
        if key in _indexed:
            return
    collection = mongo.database()[log.name]
    collection.create_index([("expire_at", ASCENDING)], expireAfterSeconds=0, name="expire_at_ttl")
    collection.create_index([("organization_id", ASCENDING), (log.time_field, DESCENDING)], name="org_time")
    if log.unique:
        collection.create_index([(name, ASCENDING) for name in log.unique], unique=True, name="unique_entry")
    for fields in log.indexes:
        spec = [(name, DESCENDING if name == log.time_field else ASCENDING) for name in fields]
        collection.create_index(spec, name="_".join(fields))
    with _index_lock:
        _indexed.add(key)


def spill(collection: str, documents: list[dict]) -> None:
    from audit.models import EventLogOutbox

    with transaction.atomic():
        EventLogOutbox.objects.create(
            collection=collection, documents=json_util.dumps(documents), count=len(documents)
        )
    logger.warning(
        "event log %s: %d entries kept in the outbox until MongoDB answers",
        collection,
        len(documents),
        extra={"event_log": collection, "entries": len(documents)},
    )


class Shipper:
    def __init__(self):
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: deque[tuple[str, dict]] = deque()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._paused_until = 0.0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(self, collection: str, documents: list[dict]) -> None:
        with self._lock:
            full = len(self._pending) + len(documents) > settings.EVENT_LOG_BUFFER_SIZE
            if not full:
                self._pending.extend((collection, document) for document in documents)
        if full:
            spill(collection, documents)
            return
        if settings.EVENT_LOG_SHIP_INLINE:
            self.flush()
            return
        self._start()
        if len(self._pending) >= settings.EVENT_LOG_SHIP_BATCH:
            self._wake.set()

    def flush(self) -> None:
        """Ship everything pending now (the thread does this every ``EVENT_LOG_SHIP_SECONDS``)."""
        while True:
            with self._lock:
                taken = [
                    self._pending.popleft()
                    for _ in range(min(len(self._pending), settings.EVENT_LOG_SHIP_BATCH))
                ]
            if not taken:
                return
            by_collection: dict[str, list[dict]] = {}
            for collection, document in taken:
                by_collection.setdefault(collection, []).append(document)
            items = list(by_collection.items())
            for index, (collection, documents) in enumerate(items):
                if not self._ship(collection, documents):
                    # Neither store answers: keep what is left (the bound still holds for new entries).
                    with self._lock:
                        for later, rest in reversed(items[index:]):
                            self._pending.extendleft((later, d) for d in reversed(rest))
                    return

    def _ship(self, collection: str, documents: list[dict]) -> bool:
        if time.monotonic() >= self._paused_until:
            delay = settings.EVENT_LOG_SHIP_BACKOFF_SECONDS
            for attempt in range(settings.EVENT_LOG_SHIP_RETRIES + 1):
                try:
                    insert(collection, documents)
                    return True
                except PyMongoError as exc:
                    logger.warning("event log %s: MongoDB write failed (%s)", collection, exc)
                    if attempt < settings.EVENT_LOG_SHIP_RETRIES and delay:
                        time.sleep(delay * 2**attempt)
            self._paused_until = time.monotonic() + settings.EVENT_LOG_MONGO_PAUSE_SECONDS
        try:
            spill(collection, documents)
        except Exception:
            logger.exception("event log %s: outbox write failed; entries stay in the buffer", collection)
            return False
        return True

    def resume(self) -> None:
        """MongoDB answered again (the drain got through): stop spilling straight to the outbox."""
        self._paused_until = 0.0

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="event-log-shipper", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        from django.db import connection

        while True:
            self._wake.wait(settings.EVENT_LOG_SHIP_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                logger.exception("event log shipping failed; retrying")
                time.sleep(settings.EVENT_LOG_SHIP_SECONDS)
            finally:
                # The thread's own connection (outbox writes): don't hold it between rounds.
                connection.close()
            if self._stopping:
                return

    def stop(self, timeout: float = 10.0) -> None:
        """Ship what is pending and end the thread (process exit; tests)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._stopping = True
        self._wake.set()
        thread.join(timeout)
        self._thread, self._stopping = None, False


shipper = Shipper()


@atexit.register
def _flush_at_exit() -> None:
    shipper.stop()
    if shipper.pending:
        try:
            shipper.flush()
        except Exception:
            logger.exception("event log: entries left unshipped at exit")


def drain(*, limit: int = 50) -> int:
    """Move outbox rows to MongoDB, oldest first; stops at the first failure (MongoDB still away).
    Returns the number of entries moved."""
    from audit.models import EventLogOutbox

    moved = 0
    for _ in range(limit):
        with transaction.atomic():
            row = EventLogOutbox.objects.select_for_update(skip_locked=True).order_by("pk").first()
            if row is None:
                break
            try:
                insert(row.collection, json_util.loads(row.documents))
            except PyMongoError as exc:
                logger.warning("event log outbox: MongoDB still unavailable (%s)", exc)
                return moved
            # Deleted after the insert: a crash in between re-sends entries MongoDB already has,
            # and their ids make that a no-op.
            row.delete()
        moved += row.count
    if moved:
        shipper.resume()
        logger.info("event log outbox: %d entries moved to MongoDB", moved, extra={"entries": moved})
    return moved
