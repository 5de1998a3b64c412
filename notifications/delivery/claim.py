"""On-call and notifications: the claim phase of a delivery tick. Due outbox rows are taken under a
lease and a claim token; rows no longer needed are cancelled; rows a dead worker left ``sending``
past their lease are taken over, their lost attempt recorded."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When

from incidents.models import Status
from notifications.delivery.batch import DeliveryStats, LedgerBatch, save_rows
from notifications.delivery.claimed_rows import claim_rows
from notifications.eventlogs import NOTIFICATION_ATTEMPTS
from notifications.models import AttemptOutcome, Notification, NotificationAttempt, NotificationStatus
from opsplatform.core.durable import DATABASE_UNREACHABLE

LOST_ERROR = "the worker stopped while this attempt was in flight; it may or may not have arrived"


class ClaimInDoubt(Exception):
    """A claim met a database error, and may have committed all the same: the database can go down
    between a statement's commit and its answer, or a claim's cancellations fail after its rows
    were taken. Rows may then be ``sending`` under ``token`` with nobody to send them, a page held
    back until ``lease_until``; ``give_back(token)`` returns them once the database answers."""

    def __init__(self, token: uuid.UUID, lease_until: datetime):
        super().__init__(token, lease_until)
        self.token, self.lease_until = token, lease_until

    def __str__(self) -> str:
        return f"claim {self.token} met a database error ({self.__cause__!r})"


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
    try:
        rows = claim_rows(now, skip_media, batch_size, lease_until, token)
        unneeded = [row for row in rows if _no_longer_needed(row)]
        if unneeded:
            _cancel(unneeded, stats)
    except DATABASE_UNREACHABLE as exc:
        raise ClaimInDoubt(token, lease_until) from exc
    claimed = [row for row in rows if row.status == NotificationStatus.SENDING]
    stats.claimed += len(claimed)
    return token, claimed, len(rows)


def _cancel(unneeded: list[Notification], stats: DeliveryStats) -> None:
    # Cancelled in a transaction of their own, with their ledger entries. Should it fail, the
    # claim is in doubt (``ClaimInDoubt``): every row goes back, and the next claim cancels these.
    with transaction.atomic():
        ledger = LedgerBatch()
        for row in unneeded:
            row.status = NotificationStatus.CANCELLED
            row.attempts -= 1  # claimed, never tried
            row.next_attempt_at = row.lease_until = row.claim_token = None
            ledger.record(row, "notification.cancelled", {"reason": f"incident {row.incident.status}"})
        save_rows(unneeded, ["status", "attempts", "next_attempt_at", "lease_until", "claim_token"])
        ledger.flush()
    stats.cancelled += len(unneeded)


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


def give_back(token: uuid.UUID, *, ids: list[int] | None = None, due_at: datetime | None = None) -> int:
    """Give rows claimed under ``token`` (all of them, or those of ``ids``) back to the outbox
    untried: the attempt the claim counted is taken back, and the row is due at ``due_at`` (else when
    it was). Fenced by the token: a row another tick took over, or whose outcome was stored, is left
    alone, so a second call changes nothing. Returns the rows given back."""
    rows = Notification.objects.filter(claim_token=token, status=NotificationStatus.SENDING)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    values = {
        # Every expression reads the row as it was: "attempts" is the count the claim raised.
        "status": Case(
            When(attempts__gt=1, then=Value(NotificationStatus.FAILED)),
            default=Value(NotificationStatus.PENDING),
        ),
        "attempts": F("attempts") - 1,
        "lease_until": None,
        "claim_token": None,
    }
    if due_at is not None:
        values["next_attempt_at"] = due_at
    return rows.update(**values)
