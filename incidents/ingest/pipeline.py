"""The ingestion pipeline: normalized, routed events in; incidents, alerts and ledger entries out.

Guarantees:

* One open incident per (organization, dedup key), under any concurrency: new incidents are written
  with ``INSERT … ON CONFLICT`` against the partial unique index ``incident_open_dedup_key_unique``.
  A racing request lands on the row the winner inserted (and waits for its lock), never on a copy.
* Everything an alert does to its incident happens under the incident's row lock, taken first. The
  open incidents a request changes are locked together in id order, new ones in dedup-key order,
  and the ledger's per-organization lock comes last, after every incident lock. Requests therefore
  queue instead of deadlocking; a deadlock the database still detects is retried with the whole
  transaction.
* The request's raw payload, alerts, incidents and ledger entries commit together: a 2xx means all of
  it is stored. Realtime events and counters follow the commit.

Counting: ``Alert.occurrences`` and ``Incident.alert_occurrences`` count the events received for an
alert, except re-sent notifications of the same firing episode (same ``occurrence_key``, e.g.
Alertmanager's ``startsAt``). Those change nothing at all and take no lock.

Two shapes are cheap on purpose, because storms consist of them: a re-sent notification (read, found
unchanged, nothing written), and a single repeated trigger of an alert already firing (one statement,
see ``sql.REPEAT_SQL``, shared with the concurrent ones of the process: ``group_commit``). A repeat
that arrives while this process writes its key's first trigger waits for it and is then one of
those (``first_triggers``).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from incidents.ingest import counters, first_triggers, group_commit, settle
from incidents.ingest.alert_event import AlertEvent, EventAction
from incidents.ingest.batch import Batch
from incidents.ingest.maintenance import candidate_windows
from incidents.ingest.results import EventResult, IngestResult, RawBody, Result
from incidents.ingest.routing import Decision, Outcome, decide, rules_for
from incidents.ingest.sql import REPEAT_SQL, is_retryable
from incidents.models import Integration
from incidents.models.payload import time_ordered_uuid
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability
from opsplatform.core.prepared import fetchone_prepared

__all__ = ["EventResult", "IngestResult", "RawBody", "Result", "ingest"]

logger = logging.getLogger(__name__)

ATTEMPTS = 3


def ingest(
    *,
    integration: Integration,
    events: list[AlertEvent],
    raw: RawBody | None = None,
    heartbeat: bool = False,
    now=None,
    rules: list | None = None,
    maybe_maintenance: bool = True,
    windows: list | None = None,
) -> IngestResult:
    """Route and store ``events`` of one request (or one tick) in one transaction; see the module doc.

    ``rules`` and ``windows`` (the maintenance windows that may be active) come with the key lookup
    (``keys.load_target``); without them the rules are read here, and the windows too unless
    ``maybe_maintenance`` says there are none."""
    actor = Actor.for_integration(integration)
    actor.require(Capability.INCIDENT_CREATE)
    now = now or timezone.now()
    if rules is None:
        rules = rules_for(integration)
    if not any(e.action == EventAction.TRIGGER for e in events):
        windows = []
    elif windows is None:
        windows = candidate_windows(integration.organization_id, now) if maybe_maintenance else []
    decisions = [decide(e, integration=integration, rules=rules, windows=windows, now=now) for e in events]
    # One lock order for every request: by dedup key.
    order = sorted(range(len(decisions)), key=lambda i: decisions[i].event.dedup_key)
    # Made here so alerts can point at the payload before its row is written (None: no request).
    payload_id = time_ordered_uuid() if raw is not None else None
    single = len(decisions) == 1 and raw is not None and not heartbeat and _repeatable(decisions[0])
    if single:
        repeated = _repeat(integration, decisions[0], raw, payload_id, now)
        if repeated is None and first_triggers.wait_for_writer(
            integration.organization_id, decisions[0].event.dedup_key
        ):
            # The key's first trigger, written meanwhile by this process, has ended: a repeat now.
            repeated = _repeat(integration, decisions[0], raw, payload_id, now)
        if repeated is not None:
            return repeated
        with first_triggers.writing(integration.organization_id, decisions[0].event.dedup_key):
            try:
                return _write(
                    integration, actor, decisions, order, raw=raw, payload_id=payload_id, now=now,
                    heartbeat=heartbeat, repeat_meanwhile=True,
                )  # fmt: skip
            except _WrittenMeanwhile:
                repeated = _repeat_alone(integration, decisions[0], raw, payload_id, now)
                if repeated is not None:
                    return repeated
            return _write(
                integration, actor, decisions, order, raw=raw, payload_id=payload_id, now=now,
                heartbeat=heartbeat,
            )  # fmt: skip
    return _write(
        integration, actor, decisions, order, raw=raw, payload_id=payload_id, now=now, heartbeat=heartbeat
    )


class _WrittenMeanwhile(Exception):
    """The single event's key was written by another request since its repeat missed."""


def _write(
    integration, actor, decisions, order, *, raw, payload_id, now, heartbeat, repeat_meanwhile=False
) -> IngestResult:
    """The full path: everything the request does, in one transaction (retried on a deadlock).

    ``repeat_meanwhile``: a single trigger whose group's repeat found nothing often finds here that
    it is a repeat after all: the key's first trigger committed meanwhile (in another process:
    ``first_triggers`` only knows this one's writers), or the group's statement skipped the
    incident because a transaction held it. It then gives the transaction up at once, before it
    has written anything, and the caller writes it with the one statement that waits for the
    incident instead of skipping it. Locking and counting the incident here would hold it through
    a whole transaction, and every repeat of the key meanwhile would skip it too and queue here:
    at a storm's start, with few keys, that convoy was the slowest second of the paced load."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                batch = Batch(integration=integration, actor=actor, payload_id=payload_id, now=now)
                if heartbeat:
                    batch.record_ping()
                batch.prefetch(decisions)
                if repeat_meanwhile and batch.written_meanwhile(decisions[0]):
                    raise _WrittenMeanwhile
                batch.open_incidents([decisions[index] for index in order])
                if repeat_meanwhile and batch.written_meanwhile(decisions[0]):
                    raise _WrittenMeanwhile
                results: list[EventResult | None] = [None] * len(decisions)
                for index in order:
                    results[index] = batch.handle(decisions[index])
                settle.finish(batch, raw, results)
                outcome = IngestResult(payload_id=payload_id, results=results)
                transaction.on_commit(lambda o=outcome: _count(integration.pk, o, now), robust=True)
            return outcome
        except (IntegrityError, DatabaseError) as exc:
            if attempt == ATTEMPTS or not is_retryable(exc):
                raise
            logger.info("ingestion transaction retried after %s", type(exc.__cause__).__name__)
            time.sleep(0.005 * attempt)
    raise AssertionError("unreachable")


def _repeatable(decision: Decision) -> bool:
    """Whether the request may be a repeated trigger (the statements below settle whether it is)."""
    event = decision.event
    if decision.outcome == Outcome.DROP or event.action != EventAction.TRIGGER:
        return False
    return not event.occurrence_key


def _repeat(integration, decision: Decision, raw: RawBody, payload_id, now) -> IngestResult | None:
    """The repeated trigger written and counted, or None (nothing written) when it is not one."""
    if settings.INGEST_GROUP_COMMIT and not transaction.get_connection().in_atomic_block:
        # Shares a statement and a commit with the concurrent ones of this process; counted there.
        item = group_commit.RepeatItem(
            organization_id=integration.organization_id,
            integration_id=integration.pk,
            dedup_key=decision.event.dedup_key,
            status=decision.event.status,
            raw=raw,
            payload_id=payload_id,
            now=now,
        )
        return group_commit.committer().submit(item)
    return _repeat_alone(integration, decision, raw, payload_id, now)


def _repeat_alone(integration, decision: Decision, raw: RawBody, payload_id, now) -> IngestResult | None:
    """``_repeat`` by this request's own statement, which waits for a locked incident."""
    repeated = _repeat_in_one_statement(integration, decision, raw, payload_id, now)
    if repeated is not None:
        # Runs at once outside a transaction; inside one (a caller's), after it commits.
        transaction.on_commit(lambda: _count(integration.pk, repeated, now), robust=True)
    return repeated


def _repeat_in_one_statement(
    integration, decision: Decision, raw: RawBody, payload_id, now
) -> IngestResult | None:
    """The most common request of all, another trigger of an alert already firing in an open
    incident, as one statement: lock the incident, count the occurrence on the alert and the incident,
    store the raw payload. One statement is one atomic commit, with none of a transaction's round
    trips. None (and nothing written) when it is anything else: the full path takes over."""
    event = decision.event
    row = fetchone_prepared(
        REPEAT_SQL,
        {
            "org": integration.organization_id,
            "integration": integration.pk,
            "key": event.dedup_key,
            "now": now,
            "payload": payload_id,
            **raw.stored_fields(),
        },
    )
    alert_id, incident_id, counted, stored = row
    if alert_id is None:
        return None
    if not (counted and stored):  # cannot happen: all three follow from the same alert row
        raise DatabaseError("repeated trigger: partial write")
    return IngestResult.repeated(
        payload_id, dedup_key=event.dedup_key, status=event.status, incident_id=incident_id, alert_id=alert_id
    )


def _count(integration_id: int, outcome: IngestResult, now) -> None:
    counters.add(
        integration_id,
        received=len(outcome.results),
        deduplicated=outcome.count(Result.DEDUPLICATED),
        dropped=outcome.count(Result.DROPPED),
        at=now.timestamp(),
    )
