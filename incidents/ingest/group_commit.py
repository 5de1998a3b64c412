"""Group commit for the commonest request of an alert storm: one more trigger of an alert already
firing in an open incident.

Alone, each such request is one statement and so one commit of its own (``sql.REPEAT_SQL``): a
round trip, a parse of the statement's parameters, a WAL flush, for a few bytes of state. Here the
request threads of a web process hand them to one committer thread, which writes everything that
arrived while it was busy with the previous group in one statement per organization
(``sql.REPEAT_MANY_SQL``): one round trip and one commit for the group. Nothing waits for a group to
fill: an idle process commits a lone request at once, and a busy one commits larger groups.

Every request is answered only after the commit that holds it: the request thread blocks on its
item's future, which the committer completes once the statement has returned. A request whose key
turned out to have no firing alert in an open incident comes back with ``None`` and takes the full
path (``pipeline.ingest``) on its own thread, exactly as after ``REPEAT_SQL`` found nothing. Keys with
no firing alert at all (a new incident's first trigger) are found by a read before the write
(``sql.FIRING_KEYS_SQL``) and come back at once: under a storm the write's commit waits for a WAL
flush of several milliseconds, which a request that writes nothing here need not wait for. Whatever
the read says, the full path decides again under its own locks.

When a group's statement fails, nothing of it was written (one statement is atomic). A lost
connection fails every request of the group with that error (the outage answer, 503); any other
error is retried request by request, so each gets its own outcome and one bad request cannot fail
its neighbours. A deadlock is retried with the whole group first.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from incidents.ingest import counters
from incidents.ingest.results import IngestResult, RawBody
from incidents.ingest.sql import FIRING_KEYS_SQL, REPEAT_MANY_SQL, is_retryable
from opsplatform.core.durable import DATABASE_UNREACHABLE
from opsplatform.core.prepared import fetchall_prepared

logger = logging.getLogger(__name__)

ATTEMPTS = 3


@dataclass
class RepeatItem:
    """One request's repeated trigger, as the committer needs it."""

    organization_id: int
    integration_id: int
    dedup_key: str
    status: str
    raw: RawBody
    payload_id: uuid.UUID
    now: datetime
    future: Future = field(default_factory=Future)

    def result(self, alert_id, incident_id) -> IngestResult | None:
        if alert_id is None:
            return None
        return IngestResult.repeated(
            self.payload_id,
            dedup_key=self.dedup_key,
            status=self.status,
            incident_id=incident_id,
            alert_id=alert_id,
        )


def _params(organization_id: int, items: list[RepeatItem]) -> dict:
    stored = [item.raw.stored_fields() for item in items]
    return {
        "org": organization_id,
        "keys": [item.dedup_key for item in items],
        "payloads": [item.payload_id for item in items],
        "integrations": [item.integration_id for item in items],
        "ats": [item.now for item in items],
        "content_types": [fields["content_type"] for fields in stored],
        "bodies": [fields["body"] for fields in stored],
        "sizes": [fields["size"] for fields in stored],
        "truncated": [fields["truncated"] for fields in stored],
    }


def write(organization_id: int, items: list[RepeatItem]) -> list[IngestResult | None]:
    """The statement for ``items`` (one organization), committed; each item's result, in order."""
    rows = fetchall_prepared(REPEAT_MANY_SQL, _params(organization_id, items))
    found = sum(1 for row in rows if row[1] is not None)
    if rows and found and rows[0][3] != found:  # cannot happen: payloads follow from the same rows
        raise DatabaseError("repeated triggers: partial write")
    return [item.result(row[1], row[2]) for item, row in zip(items, rows, strict=True)]


class GroupCommitter:
    def __init__(self, max_group: int):
        self.max_group = max_group
        self._queue: queue.SimpleQueue[RepeatItem] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, item: RepeatItem) -> IngestResult | None:
        """Block until the group holding ``item`` is committed; its result, or its error raised.

        A pooled connection this thread holds goes back to the pool first: the committer needs one
        of its own, and request threads that wait on it must not hold every connection there is."""
        if connection.pool is not None and not connection.in_atomic_block:
            connection.close()
        self._ensure_thread()
        self._queue.put(item)
        return item.future.result()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest-group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            group = [self._queue.get()]
            while len(group) < self.max_group:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.commit(group)
            except BaseException as exc:  # never leave a request waiting, whatever happened
                logger.exception("ingestion group commit failed")
                for item in group:
                    if not item.future.done():
                        item.future.set_exception(exc)
            finally:
                close_old_connections()

    def commit(self, group: list[RepeatItem]) -> None:
        by_organization: dict[int, list[RepeatItem]] = defaultdict(list)
        for item in group:
            by_organization[item.organization_id].append(item)
        for organization_id, items in by_organization.items():
            _commit_organization(organization_id, items)
        _count([item for item in group if not item.future.exception() and item.future.result()])


def _release_new_keys(organization_id: int, items: list[RepeatItem]) -> list[RepeatItem]:
    """Answer ``None`` at once to the items whose key has no firing alert; the rest, to write."""
    try:
        rows = fetchall_prepared(
            FIRING_KEYS_SQL, {"org": organization_id, "keys": [i.dedup_key for i in items]}
        )
    except DatabaseError:
        return items  # the write finds out again, and answers the error as it does
    firing = {row[0] for row in rows}
    for item in items:
        if item.dedup_key not in firing:
            item.future.set_result(None)
    return [item for item in items if item.dedup_key in firing]


def _commit_organization(organization_id: int, items: list[RepeatItem], *, read_first=True) -> None:
    if read_first:
        items = _release_new_keys(organization_id, items)
        if not items:
            return
    for attempt in range(1, ATTEMPTS + 1):
        try:
            results = write(organization_id, items)
        except DATABASE_UNREACHABLE as exc:
            for item in items:
                item.future.set_exception(exc)
            return
        except DatabaseError as exc:
            if is_retryable(exc) and attempt < ATTEMPTS:
                time.sleep(0.005 * attempt)
                continue
            if len(items) == 1:
                items[0].future.set_exception(exc)
                return
            logger.info("group of %d repeated triggers failed (%s); one by one", len(items), exc)
            for item in items:
                _commit_organization(organization_id, [item], read_first=False)
            return
        for item, result in zip(items, results, strict=True):
            item.future.set_result(result)
        return


def _count(items: list[RepeatItem]) -> None:
    per_integration: dict[int, list[RepeatItem]] = defaultdict(list)
    for item in items:
        per_integration[item.integration_id].append(item)
    for integration_id, counted in per_integration.items():
        at = max(item.now for item in counted).timestamp()
        counters.add(integration_id, received=len(counted), deduplicated=len(counted), at=at)


_committer: GroupCommitter | None = None
_committer_lock = threading.Lock()


def committer() -> GroupCommitter:
    global _committer  # noqa: PLW0603 - one committer per process, made on first use
    if _committer is None:
        with _committer_lock:
            if _committer is None:
                _committer = GroupCommitter(max_group=settings.INGEST_GROUP_COMMIT_MAX)
    return _committer
