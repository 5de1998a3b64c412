"""On-call and notifications: which incidents an escalation tick works on, and when it locks them.

A tick works out a batch's steps (its schedules, rotations, people and contact rules) without
holding the incidents' rows: during a storm every new incident is escalated while its repeats keep
arriving, and each repeat counts itself on the incident's row. Held for the whole batch, the rows
made those repeats (and an operator's acknowledgement) wait for every read of the batch.

* ``claimed``: the batch's due incidents, each claimed with a session advisory lock until the tick
  is done with it. A second tick running at the same time (a kick beside the beat) skips them and
  takes others, rather than working out the same steps again. The claim is no fence: ``lock_unchanged`` is.
* ``lock_unchanged``: at the write, the batch's incidents whose escalation nobody changed since
  they were read, locked until commit. One an operator acknowledged, snoozed or escalated meanwhile
  is left out, and its step is not written: the next tick sees it as it is now. The tick first
  writes those no other transaction holds (SKIP LOCKED), then waits for the held ones alone.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError, connection

from incidents.models import Incident

logger = logging.getLogger(__name__)

CLAIM_NAMESPACE = zlib.crc32(b"opsplatform.notifications.escalation") & 0x7FFFFFFF

# The due incidents, first due first: ``CLAIM_WINDOW`` batches' worth, so that a tick beside another
# one finds incidents of its own behind those the other claimed.
CLAIM_WINDOW = 4
_DUE = "SELECT id FROM incidents_incident WHERE next_escalation_at <= %s ORDER BY next_escalation_at LIMIT %s"
# Claims those of the given incidents no other tick holds. Every row given is tried exactly once
# (no LIMIT after the lock function), so nothing is claimed that the caller does not get back.
_CLAIM = (
    "SELECT c.id FROM unnest(%s::bigint[]) WITH ORDINALITY AS c(id, n)"
    " WHERE pg_try_advisory_lock(%s, (c.id & 2147483647)::integer) ORDER BY c.n"
)
_UNCLAIM = "SELECT pg_advisory_unlock(%s, (c.id & 2147483647)::integer) FROM unnest(%s::bigint[]) AS c(id)"

# Of the given incidents (with the position, epoch and status each was read at), those still as read.
_UNCHANGED = (
    "SELECT i.id FROM incidents_incident AS i"
    " JOIN unnest(%s::bigint[], %s::timestamptz[], %s::integer[], %s::integer[], %s::integer[], %s::text[])"
    "   AS r(id, due, step, cycle, epoch, status) ON r.id = i.id"
    " WHERE i.next_escalation_at = r.due AND i.escalation_step = r.step"
    " AND i.escalation_cycle = r.cycle AND i.escalation_epoch = r.epoch AND i.status = r.status"
)
# The same, locked in id order, as every writer locks incidents. With SKIP LOCKED, a row another
# transaction holds is left out (``_UNCHANGED`` then tells it from a changed one); without, it is
# waited for, and checked again once its holder commits (READ COMMITTED re-reads a row it waited for).
_LOCK_UNCHANGED = _UNCHANGED + " ORDER BY i.id FOR NO KEY UPDATE OF i"


@contextlib.contextmanager
def claimed(now: datetime, batch_size: int) -> Iterator[tuple[list[Incident], int]]:
    """The due incidents this tick claimed (first due first, with their service and organization),
    and how many it claimed; released when the block ends, however it ends."""
    ids = _claim(now, batch_size)
    try:
        incidents = []
        if ids:
            # Read after the claim: a tick that finished with one just before is seen to have.
            incidents = list(
                Incident.objects.select_related("service", "organization")
                .filter(pk__in=ids, next_escalation_at__lte=now)
                .order_by("next_escalation_at")
            )
        yield incidents, len(ids)
    finally:
        if ids:
            _release(ids)


def _claim(now: datetime, batch_size: int) -> list[int]:
    """Up to ``batch_size`` due incidents, first due first, that no other tick holds: tried a
    batch's worth at a time, so that no more are ever claimed than taken."""
    with connection.cursor() as cursor:
        cursor.execute(_DUE, [now, batch_size * CLAIM_WINDOW])
        due = [row[0] for row in cursor.fetchall()]
        ids: list[int] = []
        try:
            while due and len(ids) < batch_size:
                tried, due = due[: batch_size - len(ids)], due[batch_size - len(ids) :]
                cursor.execute(_CLAIM, [tried, CLAIM_NAMESPACE])
                ids += [row[0] for row in cursor.fetchall()]
        except DatabaseError:
            if ids:
                _release(ids)
            raise
    return ids


def _release(ids: list[int]) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(_UNCLAIM, [CLAIM_NAMESPACE, ids])
    except DatabaseError:
        # A session that cannot give its claims back must not keep them: ending it releases them.
        # The underlying connection is closed first: with the pool on, Django's close() would hand
        # it back to the pool, claims and all.
        logger.warning("could not release %d escalation claims; closing the connection", len(ids))
        if connection.connection is not None:
            connection.connection.close()
        connection.close()


def lock_unchanged(incidents: list[tuple[Incident, tuple]], *, skip_locked: bool = False) -> tuple[set, set]:
    """Lock, until commit, the incidents whose escalation is still as read: each given with the
    position it was read at (next due time, step, cycle). Returns their ids, and with
    ``skip_locked`` the ids of those still as read but held by another transaction (not locked)."""
    if not incidents:
        return set(), set()
    columns: list[list] = [[], [], [], [], [], []]
    for incident, (due, step, cycle) in incidents:
        for column, value in zip(
            columns,
            (incident.pk, due, step, cycle, incident.escalation_epoch, incident.status),
            strict=True,
        ):
            column.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_UNCHANGED + (" SKIP LOCKED" if skip_locked else ""), columns)
        locked = {row[0] for row in cursor.fetchall()}
        held: set[int] = set()
        if skip_locked and len(locked) < len(incidents):
            cursor.execute(_UNCHANGED, columns)
            held = {row[0] for row in cursor.fetchall()} - locked
    return locked, held
