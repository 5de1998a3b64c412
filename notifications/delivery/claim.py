"""On-call and notifications: the claim phase of a delivery tick. Due outbox rows are taken under a
lease and a claim token; rows no longer needed are cancelled; rows a dead worker left ``sending``
past their lease are taken over, their lost attempt recorded."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from incidents.models import Status
from notifications.delivery.batch import DeliveryStats, LedgerBatch, save_rows
from notifications.delivery.claimed_rows import claim_rows
from notifications.eventlogs import NOTIFICATION_ATTEMPTS
from notifications.models import AttemptOutcome, Notification, NotificationAttempt, NotificationStatus

LOST_ERROR = "the worker stopped while this attempt was in flight; it may or may not have arrived"


def claim_due(
    now: datetime, batch_size: int, stats: DeliveryStats, *, skip_media: tuple[str, ...] = ()
) -> tuple[uuid.UUID, list[Notification], int]:
    """Claim up to ``batch_size`` due rows, none of ``skip_media``: (claim token, rows to send, rows
    claimed).

    One statement (``claimed_rows``) marks them ``sending`` with a lease and this claim's token over
    ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent ticks take disjoint rows and nobody waits, and
    reads them back with what a send needs.
    """
    token = uuid.uuid4()
    lease_until = now + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS)
    rows = claim_rows(now, skip_media, batch_size, lease_until, token)
    unneeded = [row for row in rows if _no_longer_needed(row)]
    if unneeded:
        # Cancelled in a transaction of their own, with their ledger entries. Should it fail, they
        # stay claimed until their lease ends, and the next claim after that cancels them.
        with transaction.atomic():
            ledger = LedgerBatch()
            for row in unneeded:
                row.status = NotificationStatus.CANCELLED
                row.attempts -= 1  # claimed, never tried
                row.next_attempt_at = row.lease_until = row.claim_token = None
                stats.cancelled += 1
                ledger.record(row, "notification.cancelled", {"reason": f"incident {row.incident.status}"})
            save_rows(unneeded, ["status", "attempts", "next_attempt_at", "lease_until", "claim_token"])
            ledger.flush()
    claimed = [row for row in rows if row.status == NotificationStatus.SENDING]
    stats.claimed += len(claimed)
    return token, claimed, len(rows)


def reclaim_lost(now: datetime, stats: DeliveryStats) -> None:
    """Rows left ``sending`` past their lease belong to a worker that died mid-request. Record that
    attempt as lost (it may or may not have arrived) and make the row due again, or dead-letter it
    when that was its last attempt."""
    lost = Notification.objects.filter(status=NotificationStatus.SENDING, lease_until__lte=now)
    # Nearly every tick finds none: one plain read first instead of a transaction's three trips.
    if not lost.exists():
        return
    with transaction.atomic():
        rows = list(
            lost.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident__organization")
            .order_by("lease_until")[:500]
        )
        if not rows:
            return
        ledger = LedgerBatch()
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
                _dead_letter(row, ledger, stats, LOST_ERROR)
            else:
                row.status = NotificationStatus.FAILED
                row.next_attempt_at = now
                row.lease_until = row.claim_token = None
        NOTIFICATION_ATTEMPTS.append(attempts)
        save_rows(
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


def _dead_letter(row: Notification, ledger: LedgerBatch, stats: DeliveryStats, error: str) -> None:
    row.status = NotificationStatus.DEAD
    row.next_attempt_at = row.lease_until = row.claim_token = None
    stats.dead += 1
    ledger.record(row, "notification.dead_lettered", {"attempts": row.attempts, "error": error})


def release(rows: list[Notification], until: datetime) -> None:
    """Give claimed rows back untried, due again at ``until`` (their destination is busy). The
    attempt the claim counted is taken back; fenced by the claim token like an outcome."""
    for row in rows:
        row.claim_token_was = row.claim_token
        row.attempts -= 1
        row.status = NotificationStatus.FAILED if row.attempts else NotificationStatus.PENDING
        row.next_attempt_at = until
        row.lease_until = row.claim_token = None
    with transaction.atomic():
        save_rows(rows, ["status", "attempts", "next_attempt_at", "lease_until", "claim_token"], fenced=True)
