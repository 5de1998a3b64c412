"""On-call and notifications: the outcome phase of a delivery tick. Each result is stored on its row
(sent, failed with the next attempt after a backoff, or dead), the attempt is logged and written to
the ledger, and the health of the channels used is updated, all fenced by the claim token."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from notifications.delivery.batch import DeliveryStats, LedgerBatch, save_rows
from notifications.eventlogs import NOTIFICATION_ATTEMPTS
from notifications.models import (
    AttemptOutcome,
    Channel,
    Medium,
    Notification,
    NotificationAttempt,
    NotificationStatus,
)
from notifications.senders import SendResult
from notifications.senders.web_push import GONE_STATUS
from notifications.services.web_push import subscriptions_gone
from opsplatform.core.durable import while_leased

logger = logging.getLogger(__name__)

# How stale a healthy channel's last_success_at may be (see _update_health).
HEALTH_REFRESH = timedelta(seconds=5)


def backoff(attempt: int) -> timedelta:
    """Exponential backoff with "equal jitter": half the step fixed, half random, capped."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    ceiling = min(settings.NOTIFICATION_RETRY_MAX_SECONDS, base * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


def record_outcomes(
    results: list[tuple[Notification, SendResult, int | None]], now: datetime, stats: DeliveryStats
) -> None:
    """Store outcomes (row as claimed, result, channel used) in one transaction.

    The write is fenced by each row's claim token: a row whose lease ran out and that another
    worker took over is not touched (its outcome wins), and nothing else is recorded for it.
    """
    health: dict[int, list[SendResult]] = defaultdict(list)
    changed = []
    # Counted here and added once the transaction commits: a retry after a database error
    # (record_outcomes_durably) must not count its rows twice.
    counted = DeliveryStats()
    for row, result, _channel_id in results:
        # A retry after a database error finds the token already moved to claim_token_was.
        if row.claim_token is not None:
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
        owned = save_rows(
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
        ledger = LedgerBatch()
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
            _record(row, result, ledger, counted)
        NOTIFICATION_ATTEMPTS.append(attempts)
        _update_health(health)
        ledger.flush()
        gone = {
            row.contact_method_id: result.status_code
            for row, result, _ in results
            if row.pk in owned
            and row.medium == Medium.WEB_PUSH
            and row.contact_method_id
            and result.status_code in GONE_STATUS
        }
        if gone:
            subscriptions_gone(gone)
    stats.add(counted)


def record_outcomes_durably(
    results: list[tuple[Notification, SendResult, int | None]], now: datetime | None, stats: DeliveryStats
) -> None:
    """``record_outcomes``, waiting out a database outage.

    The requests were made. An outcome dropped on a database error would leave its row ``sending``
    until the lease ends, and then the page would be sent again although it had arrived (a second
    page for every request in flight when the database went away). So the write is retried while
    the database is unreachable, for as long as the rows' lease leaves time; past that another
    worker may take them over, and the claim token would refuse the late write anyway.
    """
    while_leased(
        lambda: record_outcomes(results, now or timezone.now(), stats),
        min(row.lease_until for row, _, _ in results),
        f"storing {len(results)} delivery outcomes",
    )


def _record(row: Notification, result: SendResult, ledger: LedgerBatch, stats: DeliveryStats) -> None:
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
        ledger.record(row, "notification.dead_lettered", {"attempts": row.attempts, "error": result.error})
    else:
        stats.failed += 1
        ledger.record(
            row,
            "notification.failed",
            {**details, "error": result.error, "next_attempt_at": row.next_attempt_at.isoformat()},
        )


# A healthy channel's row is rewritten only when its success time is older than HEALTH_REFRESH or
# a failure state is left to clear (a row the WHERE leaves out is neither locked nor waited for).
# Written by hand: every outcome batch of a storm runs it, and the ORM took longer to build it.
_HEALTHY_SQL = """
UPDATE {table} SET last_success_at = %s, consecutive_failures = 0, last_error = ''
WHERE id = %s AND (last_success_at IS NULL OR last_success_at < %s OR consecutive_failures <> 0
                   OR last_error <> '')
"""


def _update_health(health: dict[int, list[SendResult]]) -> None:
    now = timezone.now()
    healthy = _HEALTHY_SQL.format(table=Channel._meta.db_table)
    # In id order: concurrent finishing transactions lock the channel rows in the same order.
    for channel_id, results in sorted(health.items()):
        last = results[-1]
        if last.ok:
            # Every page of a channel ends here, and its row stays locked until commit: in a storm
            # the outcomes of one channel would queue on it (hence the WHERE above).
            with connection.cursor() as cursor:
                cursor.execute(healthy, [now, channel_id, now - HEALTH_REFRESH])
        else:
            failures = len(results) - max((i + 1 for i, r in enumerate(results) if r.ok), default=0)
            Channel.objects.filter(pk=channel_id).update(
                last_failure_at=now,
                last_error=last.error[:500],
                consecutive_failures=F("consecutive_failures") + failures,
            )
