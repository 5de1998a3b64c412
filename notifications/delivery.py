"""The delivery worker: sends outbox rows, retries with backoff, dead-letters, records every attempt.

One tick repeats three short phases until nothing is due (or its time budget is spent):

1. **Claim** (one transaction): due rows (``pending``/``failed`` with ``next_attempt_at`` passed, or
   ``sending`` rows whose lease ran out because their worker died) are locked with
   ``FOR UPDATE SKIP LOCKED``, marked ``sending`` with a lease and a claim token, and committed. A
   concurrent tick skips them; nobody sends a row another worker holds.
2. **Send** (no transaction, no database): a thread pool makes the requests.
3. **Finish** (one transaction): each row the claim token still owns becomes ``sent``, ``failed``
   (with the next attempt time: exponential backoff with jitter) or ``dead``; the attempt is stored
   and written to the ledger on the incident, so it shows on the incident's timeline.

A worker killed between 1 and 3 leaves its rows ``sending``; after the lease they are claimed again
and the lost attempt is recorded as "outcome unknown". The request may have arrived, so the retry
carries the same delivery id (``X-OpsPlatform-Delivery``, ``Idempotency-Key``,
``I-Twilio-Idempotency-Token``) for the receiver to recognize; no row is ever in flight twice at once.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audit.services import record_many
from incidents.models import Status
from incidents.realtime import publish_incidents_after_commit
from notifications.messages import build_message
from notifications.models import (
    AttemptOutcome,
    Channel,
    ChannelKind,
    ContactKind,
    Medium,
    Notification,
    NotificationAttempt,
    NotificationStatus,
)
from notifications.models.channels import TWILIO_KINDS
from notifications.senders import Outgoing, SendResult, payloads, send
from notifications.services.channels import carrier_channel, channel_secrets
from notifications.services.contacts import contact_secret
from opsplatform.core.crypto import DecryptionError

logger = logging.getLogger(__name__)

FINISH_GATHER_SECONDS = 0.025
LOST_ERROR = "the worker stopped while this attempt was in flight; it may or may not have arrived"


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    lost: int = 0

    def add(self, other: DeliveryStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backoff(attempt: int) -> timedelta:
    """Exponential backoff with "equal jitter": half the step fixed, half random, capped."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    ceiling = min(settings.NOTIFICATION_RETRY_MAX_SECONDS, base * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


class _Ledger:
    """Ledger entries of one transaction, written together at its end.

    Each organization's chain is locked from its first entry until commit, so entries are written
    last (``flush``), after the outbox rows are saved: the lock is held for the inserts only. Then
    one realtime push per incident, after commit.
    """

    def __init__(self):
        self.entries = []

    def record(self, row: Notification, verb: str, data: dict) -> None:
        base = {"notification": row.pk, "medium": row.medium, "to": row.destination}
        self.entries.append((row.incident, verb, {**base, **data}))

    def flush(self) -> None:
        record_many(job="delivery", entries=self.entries)
        publish_incidents_after_commit((incident, verb) for incident, verb, _ in self.entries)
        self.entries = []


# --- claim --------------------------------------------------------------------------------------

_COLUMN_TYPES = {
    "status": "varchar",
    "attempts": "integer",
    "lease_until": "timestamptz",
    "claim_token": "uuid",
    "next_attempt_at": "timestamptz",
    "last_error": "varchar",
    "updated_at": "timestamptz",
    "last_status_code": "integer",
    "sent_at": "timestamptz",
}


def _save_rows(rows: list[Notification], fields: list[str], *, fenced: bool = False) -> set[int]:
    """Save ``fields`` of many rows in one UPDATE … FROM (VALUES …) (Django's bulk_update builds a
    CASE per column and row, which costs more than the deliveries themselves).

    ``fenced``: only rows still ``sending`` under the claim token the row object carries are written
    (the claim token is the fencing token of a delivery). Returns the ids written.
    """
    if not rows:
        return set()
    columns = ["claim_token_was", *fields] if fenced else fields
    types = {**_COLUMN_TYPES, "claim_token_was": "uuid"}
    row_sql = "(%s::bigint, " + ", ".join(f"%s::{types[f]}" for f in columns) + ")"
    params = []
    for row in rows:
        params += [row.pk, *(getattr(row, f) for f in columns)]
    fence = " AND n.claim_token = v.claim_token_was AND n.status = 'sending'" if fenced else ""
    sql = (
        f"UPDATE {Notification._meta.db_table} AS n SET "  # noqa: S608 - names are our own constants
        + ", ".join(f"{f} = v.{f}" for f in fields)
        + f" FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v(id, {', '.join(columns)})"
        + f" WHERE n.id = v.id{fence} RETURNING n.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


# The locking SELECT runs once, in a CTE: a sub-select under "WHERE id IN (…)" may be re-run by the
# planner (a nested-loop semi-join), and every run with SKIP LOCKED and LIMIT can pick other rows.
_CLAIM_SQL = """
WITH due AS (
    SELECT id FROM {table}
     WHERE status IN ('pending', 'failed') AND next_attempt_at <= %s
     ORDER BY next_attempt_at, id
     LIMIT %s
       FOR UPDATE SKIP LOCKED
)
UPDATE {table} AS n
   SET status = 'sending', attempts = n.attempts + 1, lease_until = %s, claim_token = %s, updated_at = %s
  FROM due
 WHERE n.id = due.id
RETURNING n.id
"""


def _claim(now: datetime, batch_size: int, stats: DeliveryStats) -> tuple[uuid.UUID, list[Notification], int]:
    """Claim up to ``batch_size`` due rows: (claim token, rows to send, rows claimed).

    One conditional UPDATE over ``SELECT … FOR UPDATE SKIP LOCKED`` marks them ``sending`` with a
    lease and this claim's token, so concurrent ticks take disjoint rows and nobody waits.
    """
    token = uuid.uuid4()
    lease_until = now + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _CLAIM_SQL.format(table=Notification._meta.db_table),
                [now, batch_size, lease_until, token, now],
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return token, [], 0
        rows = list(
            Notification.objects.select_related(
                "incident__organization",
                "incident__service",
                "incident__team",
                "channel",
                "contact_method",
                "recipient",
            )
            .filter(pk__in=ids)
            .order_by("next_attempt_at", "id")
        )
        unneeded = [row for row in rows if _no_longer_needed(row)]
        if unneeded:
            ledger = _Ledger()
            for row in unneeded:
                row.status = NotificationStatus.CANCELLED
                row.attempts -= 1  # claimed, never tried
                row.next_attempt_at = row.lease_until = row.claim_token = None
                stats.cancelled += 1
                ledger.record(row, "notification.cancelled", {"reason": f"incident {row.incident.status}"})
            _save_rows(unneeded, ["status", "attempts", "next_attempt_at", "lease_until", "claim_token"])
            ledger.flush()
    claimed = [row for row in rows if row.status == NotificationStatus.SENDING]
    stats.claimed += len(claimed)
    return token, claimed, len(ids)


def _reclaim_lost(now: datetime, stats: DeliveryStats) -> None:
    """Rows left ``sending`` past their lease belong to a worker that died mid-request. Record that
    attempt as lost (it may or may not have arrived) and make the row due again, or dead-letter it
    when that was its last attempt."""
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident__organization")
            .filter(status=NotificationStatus.SENDING, lease_until__lte=now)
            .order_by("lease_until")[:500]
        )
        if not rows:
            return
        ledger = _Ledger()
        attempts = []
        for row in rows:
            stats.lost += 1
            attempts.append(
                NotificationAttempt(
                    organization_id=row.organization_id,
                    notification=row,
                    number=row.attempts,
                    started_at=row.updated_at,
                    outcome=AttemptOutcome.LOST,
                    error=LOST_ERROR,
                )
            )
            row.last_error = LOST_ERROR
            row.updated_at = now
            if row.attempts >= row.max_attempts:
                _dead(row, ledger, stats, LOST_ERROR)
            else:
                row.status = NotificationStatus.FAILED
                row.next_attempt_at = now
                row.lease_until = row.claim_token = None
        NotificationAttempt.objects.bulk_create(attempts, ignore_conflicts=True)
        _save_rows(
            rows, ["status", "next_attempt_at", "lease_until", "claim_token", "last_error", "updated_at"]
        )
        ledger.flush()


def _no_longer_needed(row: Notification) -> bool:
    if row.resend_count:
        return False  # an operator asked for it explicitly
    status = row.incident.status
    if status == Status.RESOLVED:
        return True
    return row.conditional and status != Status.TRIGGERED


def _dead(row: Notification, ledger: _Ledger, stats: DeliveryStats, error: str) -> None:
    row.status = NotificationStatus.DEAD
    row.next_attempt_at = row.lease_until = row.claim_token = None
    stats.dead += 1
    ledger.record(row, "notification.dead_lettered", {"attempts": row.attempts, "error": error})


# --- prepare ------------------------------------------------------------------------------------


class _Carriers:
    """The organization channels that carry personal contact methods, looked up once per batch."""

    def __init__(self):
        self._cache = {}

    def get(self, organization_id: int, kinds: tuple) -> Channel | None:
        key = (organization_id, kinds)
        if key not in self._cache:
            self._cache[key] = carrier_channel(organization_id, kinds)
        return self._cache[key]


def _fail(outgoing: Outgoing, error: str) -> Outgoing:
    outgoing.error = error
    outgoing.retryable = False
    return outgoing


def _twilio(outgoing, message, channel: Channel, *, voice: bool, to: str) -> Outgoing:
    return payloads.twilio(
        outgoing,
        voice=voice,
        account_sid=channel.config.get("account_sid", ""),
        auth_token=channel_secrets(channel).get("auth_token", ""),
        from_number=channel.config.get("from_number", ""),
        to=to,
        text=message.spoken_text() if voice else message.short_text(),
        delivery_key=message.delivery_key,
    )


def _prepare_channel(row: Notification, outgoing: Outgoing) -> Outgoing:
    channel = row.channel
    if not channel.is_active:
        return _fail(outgoing, f"channel {channel.name} is disabled")
    outgoing.channel_id = channel.pk
    message = build_message(
        row, row.incident, with_ack_link=channel.kind in (ChannelKind.EMAIL, ChannelKind.SLACK)
    )
    kind = channel.kind
    if kind == ChannelKind.EMAIL:
        return payloads.email(outgoing, message, channel.config.get("recipients", []))
    if kind in TWILIO_KINDS:
        return _twilio(
            outgoing, message, channel, voice=kind == ChannelKind.TWILIO_VOICE, to=row.target_address
        )
    secrets_ = channel_secrets(channel)
    if kind == ChannelKind.SLACK:
        return payloads.slack(outgoing, message, secrets_["url"])
    if kind == ChannelKind.TEAMS:
        return payloads.teams(outgoing, message, secrets_["url"])
    return payloads.webhook(outgoing, message, secrets_["url"], secrets_.get("signing_secret", ""))


def _prepare_contact(row: Notification, outgoing: Outgoing, carriers: _Carriers) -> Outgoing:
    contact = row.contact_method
    message = build_message(
        row,
        row.incident,
        with_ack_link=contact.kind in (ContactKind.EMAIL, ContactKind.SLACK, ContactKind.WEBHOOK),
        # A Slack mention goes to the organization's shared channel: anyone there could follow it.
        shared_room=contact.kind == ContactKind.SLACK,
    )
    org_id = row.organization_id
    if contact.kind == ContactKind.EMAIL:
        return payloads.email(outgoing, message, [contact.address])
    if contact.kind == ContactKind.WEBHOOK:
        return payloads.webhook(
            outgoing, message, contact.address, contact_secret(contact), recipient=row.recipient.username
        )
    if contact.kind == ContactKind.SLACK:
        channel = carriers.get(org_id, (ChannelKind.SLACK,))
        if channel is None:
            return _fail(outgoing, "no active Slack channel in this organization to mention the person in")
        outgoing.channel_id = channel.pk
        return payloads.slack(outgoing, message, channel_secrets(channel)["url"], mention=contact.address)
    voice = contact.kind == ContactKind.VOICE
    preferred = (
        (ChannelKind.TWILIO_VOICE, ChannelKind.TWILIO_SMS)
        if voice
        else (ChannelKind.TWILIO_SMS, ChannelKind.TWILIO_VOICE)
    )
    channel = carriers.get(org_id, preferred)
    if channel is None:
        return _fail(outgoing, "no active Twilio channel in this organization for text messages and calls")
    outgoing.channel_id = channel.pk
    return _twilio(outgoing, message, channel, voice=voice, to=contact.address)


def _prepare(row: Notification, carriers: _Carriers) -> Outgoing:
    outgoing = Outgoing(notification_id=row.pk, attempt=row.attempts, medium=row.medium)
    try:
        if row.channel_id:
            return _prepare_channel(row, outgoing)
        if row.contact_method_id:
            return _prepare_contact(row, outgoing, carriers)
        if row.recipient_id and row.medium == Medium.EMAIL and row.recipient.email:
            message = build_message(row, row.incident, with_ack_link=True)
            return payloads.email(outgoing, message, [row.recipient.email])
        return _fail(outgoing, "the channel or contact method of this notification was removed")
    except DecryptionError:
        return _fail(outgoing, "the channel's credentials cannot be opened with this deployment's key")
    except (KeyError, ValueError) as exc:
        logger.warning("notification %s cannot be prepared: %s", row.pk, type(exc).__name__)
        return _fail(outgoing, "the channel's configuration is incomplete")


# --- finish -------------------------------------------------------------------------------------


def _finish(
    results: list[tuple[Notification, SendResult, int | None]], now: datetime, stats: DeliveryStats
) -> None:
    """Store outcomes (row as claimed, result, channel used) in one transaction.

    The write is fenced by each row's claim token: a row whose lease ran out and that another
    worker took over is not touched (its outcome wins), and nothing else is recorded for it.
    """
    health: dict[int, list[SendResult]] = defaultdict(list)
    changed = []
    for row, result, _channel_id in results:
        row.claim_token_was = row.claim_token
        row.last_status_code = result.status_code
        row.last_error = result.error
        row.updated_at = timezone.now()
        row.lease_until = row.claim_token = None
        if result.ok:
            row.status = NotificationStatus.SENT
            row.sent_at = row.updated_at
            row.next_attempt_at = None
        elif not result.retryable or row.attempts >= row.max_attempts:
            row.status = NotificationStatus.DEAD
            row.next_attempt_at = None
        else:
            row.status = NotificationStatus.FAILED
            row.next_attempt_at = now + backoff(row.attempts)
        changed.append(row)
    with transaction.atomic():
        owned = _save_rows(
            changed,
            [
                "status",
                "last_status_code",
                "last_error",
                "updated_at",
                "lease_until",
                "claim_token",
                "sent_at",
                "next_attempt_at",
            ],
            fenced=True,
        )
        ledger = _Ledger()
        attempts = []
        for row, result, channel_id in results:
            if row.pk not in owned:
                logger.warning("notification %s: claim lost before the result was stored", row.pk)
                continue
            if channel_id:
                health[channel_id].append(result)
            attempts.append(
                NotificationAttempt(
                    organization_id=row.organization_id,
                    notification=row,
                    number=result.attempt,
                    started_at=result.started_at,
                    duration_ms=result.duration_ms,
                    outcome=AttemptOutcome.SENT if result.ok else AttemptOutcome.FAILED,
                    status_code=result.status_code,
                    error=result.error,
                )
            )
            details = {
                "attempt": result.attempt,
                "status_code": result.status_code,
                "duration_ms": result.duration_ms,
            }
            if row.status == NotificationStatus.SENT:
                stats.sent += 1
                ledger.record(row, "notification.sent", details)
            elif row.status == NotificationStatus.DEAD:
                stats.dead += 1
                ledger.record(
                    row, "notification.dead_lettered", {"attempts": row.attempts, "error": result.error}
                )
            else:
                stats.failed += 1
                ledger.record(
                    row,
                    "notification.failed",
                    {**details, "error": result.error, "next_attempt_at": row.next_attempt_at.isoformat()},
                )
        NotificationAttempt.objects.bulk_create(attempts, ignore_conflicts=True)
        _update_health(health)
        ledger.flush()


def _update_health(health: dict[int, list[SendResult]]) -> None:
    now = timezone.now()
    # In id order: concurrent finishing transactions lock the channel rows in the same order.
    for channel_id, results in sorted(health.items()):
        last = results[-1]
        if last.ok:
            Channel.objects.filter(pk=channel_id).update(
                last_success_at=now, consecutive_failures=0, last_error=""
            )
        else:
            failures = len(results) - max((i + 1 for i, r in enumerate(results) if r.ok), default=0)
            Channel.objects.filter(pk=channel_id).update(
                last_failure_at=now,
                last_error=last.error[:500],
                consecutive_failures=F("consecutive_failures") + failures,
            )


# --- the tick -----------------------------------------------------------------------------------


def run_delivery_tick(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    time_budget: float = 20.0,
    concurrency: int | None = None,
) -> DeliveryStats:
    """Send everything due at ``now`` (default: the wall clock, re-read per claim). Safe to run
    concurrently and twice.

    A pipeline, not batches: rows are claimed only when a sender thread is free for them, and each
    finished request is recorded at once. So at any moment at most ``concurrency`` rows are in the
    state whose outcome a crash would leave unknown, and one slow receiver does not hold up the rest.
    """
    batch_size = batch_size or settings.NOTIFICATION_DELIVERY_BATCH
    concurrency = concurrency or settings.NOTIFICATION_DELIVERY_CONCURRENCY
    # Claim in chunks of at least this many free slots: one claim transaction per row would cost
    # more than the requests themselves against a fast receiver.
    min_claim = max(1, min(batch_size, concurrency // 2))
    stats = DeliveryStats()
    deadline = time.monotonic() + time_budget
    carriers = _Carriers()
    in_flight: dict = {}
    drained = False
    _reclaim_lost(now or timezone.now(), stats)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery") as pool:
        while True:
            free = concurrency - len(in_flight)
            if not drained and free >= min(min_claim, concurrency) and time.monotonic() < deadline:
                want = min(free, batch_size)
                _, rows, examined = _claim(now or timezone.now(), want, stats)
                drained = examined < want
                for row in rows:
                    outgoing = _prepare(row, carriers)
                    in_flight[pool.submit(send, outgoing)] = (row, outgoing.channel_id)
            if not in_flight:
                if drained or time.monotonic() >= deadline:
                    return stats
                continue
            done, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
            if done and len(done) < len(in_flight):
                # Let the requests finishing right behind it join the same transaction: a few
                # milliseconds of delay for far fewer commits under load.
                more, _ = wait(set(in_flight) - done, timeout=FINISH_GATHER_SECONDS)
                done |= more
            if done:
                finished = []
                for future in done:
                    row, channel_id = in_flight.pop(future)
                    finished.append((row, future.result(), channel_id))
                _finish(finished, now or timezone.now(), stats)
