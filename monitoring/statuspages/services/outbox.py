"""Fan-out to the outbox: one delivery row per (update, subscriber) or confirmation round, keyed so
that no repeat of the same fan-out can add a second mail."""

from __future__ import annotations

import hashlib

from django.utils import timezone

from monitoring.statuspages.models import DeliveryKind, StatusDelivery, StatusNoticeUpdate, StatusSubscriber


def delivery_key(kind: str, subscriber_id: int, ref: int) -> str:
    return hashlib.sha256(f"statuspages:{kind}:{subscriber_id}:{ref}".encode()).hexdigest()


def enqueue_update(update: StatusNoticeUpdate) -> int:
    """Queue ``update`` for every confirmed, subscribed address of its page; returns rows added."""
    if not update.notify:
        return 0
    now = timezone.now()
    subscribers = StatusSubscriber.objects.filter(
        page_id=update.notice.page_id, confirmed_at__isnull=False, unsubscribed_at__isnull=True
    ).values_list("pk", flat=True)
    rows = [
        StatusDelivery(
            organization_id=update.organization_id,
            subscriber_id=subscriber_id,
            update=update,
            kind=DeliveryKind.UPDATE,
            idempotency_key=delivery_key(DeliveryKind.UPDATE, subscriber_id, update.pk),
            next_attempt_at=now,
            created_at=now,
        )
        for subscriber_id in subscribers.iterator()
    ]
    created = StatusDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(created)


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
