"""Fan-out to the outbox: one delivery row per (update, subscriber) or confirmation round, keyed so
that no repeat of the same fan-out can add a second mail or webhook request. E-mail and webhook
subscribers share it: the sender looks at the subscriber's kind."""

from __future__ import annotations

import hashlib

from django.db import connection
from django.utils import timezone

from monitoring.statuspages.models import DeliveryKind, StatusDelivery, StatusNoticeUpdate, StatusSubscriber


def delivery_key(kind: str, subscriber_id: int, ref: int) -> str:
    return hashlib.sha256(f"statuspages:{kind}:{subscriber_id}:{ref}".encode()).hexdigest()


# One statement for the whole fan-out: the key is computed as delivery_key() does, and the unique
# index turns a repeat into no rows, however many subscribers a page has.
FAN_OUT_SQL = """
INSERT INTO statuspages_statusdelivery
  (organization_id, subscriber_id, update_id, kind, idempotency_key, status, attempts,
   next_attempt_at, last_error, created_at)
SELECT s.organization_id, s.id, %(update)s, 'update',
       encode(sha256(convert_to('statuspages:update:' || s.id || ':' || %(update)s, 'UTF8')), 'hex'),
       'pending', 0, %(now)s, '', %(now)s
FROM statuspages_statussubscriber s
WHERE s.page_id = %(page)s AND s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL
  AND s.disabled_at IS NULL
ON CONFLICT (idempotency_key) DO NOTHING
"""


def enqueue_update(update: StatusNoticeUpdate) -> int:
    """Queue ``update`` for every confirmed, subscribed address and enabled webhook of its page;
    returns rows added."""
    if not update.notify:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            FAN_OUT_SQL, {"update": update.pk, "page": update.notice.page_id, "now": timezone.now()}
        )
        return cursor.rowcount


def enqueue_confirmation(subscriber: StatusSubscriber) -> bool:
    now = timezone.now()
    created = StatusDelivery.objects.bulk_create(
        [
            StatusDelivery(
                organization_id=subscriber.organization_id,
                subscriber=subscriber,
                kind=DeliveryKind.CONFIRM,
                idempotency_key=delivery_key(DeliveryKind.CONFIRM, subscriber.pk, subscriber.confirm_round),
                next_attempt_at=now,
                created_at=now,
            )
        ],
        ignore_conflicts=True,
    )
    return bool(created and created[0].pk)
