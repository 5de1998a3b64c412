"""The subscriber outbox's sender: a beat tick claims due rows, sends each mail, records the outcome.

Claiming moves rows to ``sending`` with a lease in one short transaction (``SKIP LOCKED``), so two
ticks never take the same row; a row whose sender died is taken again when its lease runs out. Each
row's send and outcome are isolated: one bad address or mail-server hiccup never stops the batch.
A failure retries with a doubling delay; after the last attempt the row is a dead letter.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from monitoring.statuspages.models import DeliveryKind, DeliveryStatus, StatusDelivery
from monitoring.statuspages.services.subscribers import confirm_token, unsubscribe_token

log = logging.getLogger(__name__)

BATCH = 100
LEASE_SECONDS = 120


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def claim(*, now, batch: int = BATCH) -> list[int]:
    with transaction.atomic():
        ids = list(
            StatusDelivery.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED], next_attempt_at__lte=now)
                | Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
            )
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:batch]
        )
        if ids:
            StatusDelivery.objects.filter(pk__in=ids).update(
                status=DeliveryStatus.SENDING,
                lease_until=now + timedelta(seconds=LEASE_SECONDS),
                attempts=F("attempts") + 1,
            )
    return ids


def build_message(delivery: StatusDelivery) -> EmailMessage | None:
    """The mail for a claimed row, or None when it is no longer wanted (unsubscribed, superseded)."""
    subscriber = delivery.subscriber
    page = subscriber.page
    unsubscribe_url = _absolute(
        reverse("statuspages:unsubscribe", args=[page.slug, unsubscribe_token(subscriber)])
    )
    context = {
        "page": page,
        "page_url": _absolute(reverse("statuspages:public", args=[page.slug])),
        "unsubscribe_url": unsubscribe_url,
    }
    if delivery.kind == DeliveryKind.CONFIRM:
        if subscriber.active:  # confirmed through an earlier mail's link
            return None
        context["confirm_url"] = _absolute(
            reverse("statuspages:confirm", args=[page.slug, confirm_token(subscriber)])
        )
        subject = f"Confirm your subscription to {page.title}"
        template = "monitoring/status/email/confirm.txt"
    else:
        if not subscriber.active:
            return None
        update = delivery.update
        notice = update.notice
        context.update({"update": update, "notice": notice})
        subject = f"[{page.title}] {notice.title}: {update.get_status_display()}"
        template = "monitoring/status/email/update.txt"
    return EmailMessage(
        subject=subject,
        body=render_to_string(template, context),
        to=[subscriber.email],
        headers={
            # RFC 2369 / RFC 8058: mail clients offer one-click unsubscribe (a POST to this URL).
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "X-OpsPlatform-Delivery": delivery.idempotency_key,
        },
    )


def _retry_delay(attempts: int) -> float:
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return min(base, settings.NOTIFICATION_RETRY_MAX_SECONDS) * random.uniform(0.8, 1.2)


def _finish(delivery_id: int, **values) -> None:
    StatusDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
        lease_until=None, **values
    )


def send_one(delivery_id: int, connection) -> str:
    delivery = (
        StatusDelivery.objects.select_related("subscriber__page", "update__notice")
        .filter(pk=delivery_id, status=DeliveryStatus.SENDING)
        .first()
    )
    if delivery is None:
        return "gone"
    try:
        message = build_message(delivery)
        if message is None:
            _finish(delivery.pk, status=DeliveryStatus.CANCELLED)
            return DeliveryStatus.CANCELLED
        message.connection = connection
        message.send()
    except Exception as exc:  # one row's failure is recorded on it; the batch goes on
        log.warning("status page mail %s failed: %s", delivery.pk, type(exc).__name__)
        now = timezone.now()
        if delivery.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            _finish(delivery.pk, status=DeliveryStatus.DEAD, last_error=str(exc)[:500])
            return DeliveryStatus.DEAD
        _finish(
            delivery.pk,
            status=DeliveryStatus.FAILED,
            last_error=str(exc)[:500],
            next_attempt_at=now + timedelta(seconds=_retry_delay(delivery.attempts)),
        )
        return DeliveryStatus.FAILED
    _finish(delivery.pk, status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
    return DeliveryStatus.SENT


def run_delivery_tick(*, now=None, batch: int = BATCH) -> int:
    """Send what is due; returns how many rows were claimed."""
    ids = claim(now=now or timezone.now(), batch=batch)
    if not ids:
        return 0
    connection = get_connection(fail_silently=False)
    try:
        for delivery_id in ids:
            try:
                send_one(delivery_id, connection)
            except Exception:
                log.exception("status page delivery %s could not be recorded", delivery_id)
    finally:
        try:
            connection.close()
        except Exception:
            log.warning("closing the mail connection failed")
    return len(ids)
