"""The subscriber outbox's sender: a beat tick claims due rows, sends each (a mail, or a signed POST to
a webhook), records the outcome.

Claiming moves rows to ``sending`` with a lease and a fresh claim token in one short transaction
(``SKIP LOCKED``), so two ticks never take the same row; a row whose sender died is taken again when
its lease runs out, under a new token. Rows are sent one after another, so just before sending one the
tick renews its lease *only if its token is still the row's*: a tick that stalled past the lease (and
whose rows another tick took over) sends nothing twice, and records no outcome over the other's.
Each row's send and outcome are isolated: one bad address or endpoint never stops the batch. A
failure retries with a doubling delay; after the last attempt, or at once when a retry cannot help
(a webhook's 4xx, an address the SSRF guard refuses), the row is a dead letter.
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit.services import record
from monitoring.statuspages import webhook_sender
from monitoring.statuspages.models import DeliveryKind, DeliveryStatus, StatusDelivery, SubscriberKind
from monitoring.statuspages.services.subscribers import confirm_token, unsubscribe_token
from monitoring.statuspages.services.webhooks import webhook_outcome
from opsplatform.core.actors import Actor
from opsplatform.core.durable import DATABASE_UNREACHABLE, while_leased

log = logging.getLogger(__name__)

BATCH = 100
JOB = "status_page.delivery"


def _lease() -> timedelta:
    # Outlasts the longest attempt: the settings refuse a lease under twice the HTTP deadline.
    return timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS)


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def claim(*, now, batch: int = BATCH) -> tuple[uuid.UUID, list[int]]:
    """Take up to ``batch`` due rows (and rows whose sender's lease ran out): (claim token, ids)."""
    token, lease_until = uuid.uuid4(), now + _lease()
    ids: list[int] = []
    try:
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
                    lease_until=lease_until,
                    claim_token=token,
                    attempts=F("attempts") + 1,
                )
    except DATABASE_UNREACHABLE:
        if not ids:
            raise  # nothing was taken
        # The commit may have happened, its answer lost (the database went down between the two):
        # the rows would wait for their lease. Once the database answers, those under this claim's
        # token are this tick's after all.
        ids = []
        while_leased(
            lambda: ids.extend(
                StatusDelivery.objects.filter(claim_token=token, status=DeliveryStatus.SENDING)
                .order_by("next_attempt_at", "pk")
                .values_list("pk", flat=True)
            ),
            lease_until,
            f"reading back claim {token}",
        )
    return token, ids


def _still_ours(delivery_id: int, token: uuid.UUID) -> bool:
    """Renew the row's lease for the attempt about to start, if this claim still holds it."""
    return bool(
        StatusDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.SENDING, claim_token=token
        ).update(lease_until=timezone.now() + _lease())
    )


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


def _finish(delivery_id: int, token: uuid.UUID, **values) -> bool:
    """Record the outcome, fenced by the claim token: False when the row is no longer this claim's."""
    return bool(
        StatusDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.SENDING, claim_token=token
        ).update(lease_until=None, claim_token=None, **values)
    )


def _failed(delivery: StatusDelivery, error: str, *, retryable: bool, status_code=None) -> dict:
    """The row's values after a failed attempt: retried later, or dead."""
    values = {"last_error": error[:500], "status_code": status_code}
    if retryable and delivery.attempts < settings.NOTIFICATION_MAX_ATTEMPTS:
        delay = _retry_delay(delivery.attempts)
        return {
            **values,
            "status": DeliveryStatus.FAILED,
            "next_attempt_at": timezone.now() + timedelta(seconds=delay),
        }
    return {**values, "status": DeliveryStatus.DEAD}


def _record_dead(delivery: StatusDelivery, error: str) -> None:
    record(
        actor=Actor.system(JOB, organization=delivery.organization),
        verb="status_delivery.dead_lettered",
        target=delivery,
        data={
            "kind": delivery.kind,
            "subscriber": delivery.subscriber_id,
            "attempts": delivery.attempts,
            "error": error[:300],
        },
    )


def _send_mail(delivery: StatusDelivery, token: uuid.UUID, connection) -> str:
    try:
        message = build_message(delivery)
        if message is None:
            _finish(delivery.pk, token, status=DeliveryStatus.CANCELLED)
            return DeliveryStatus.CANCELLED
        message.connection = connection
        message.send()
    except Exception as exc:  # one row's failure is recorded on it; the batch goes on
        log.warning("status page mail %s failed: %s", delivery.pk, type(exc).__name__)
        error = str(exc)
        values = _failed(delivery, error, retryable=True)

        def failed() -> None:
            with transaction.atomic():
                if _finish(delivery.pk, token, **values) and values["status"] == DeliveryStatus.DEAD:
                    _record_dead(delivery, error)

        _durably(failed, delivery)
        return values["status"]
    values = {"status": DeliveryStatus.SENT, "sent_at": timezone.now(), "last_error": ""}
    _durably(lambda: _finish(delivery.pk, token, **values), delivery)
    return DeliveryStatus.SENT


def _send_webhook(delivery: StatusDelivery, token: uuid.UUID) -> str:
    if delivery.kind != DeliveryKind.UPDATE or not delivery.subscriber.active:
        _finish(delivery.pk, token, status=DeliveryStatus.CANCELLED)
        return DeliveryStatus.CANCELLED
    outcome = webhook_sender.post(delivery)
    now = timezone.now()
    if outcome.ok:
        values = {
            "status": DeliveryStatus.SENT,
            "sent_at": now,
            "last_error": "",
            "status_code": outcome.status_code,
        }
    else:
        values = _failed(
            delivery, outcome.result, retryable=outcome.retryable, status_code=outcome.status_code
        )
    dead = values["status"] == DeliveryStatus.DEAD
    ours = []

    def record() -> None:
        with transaction.atomic():
            if not _finish(delivery.pk, token, **values):
                return  # taken over meanwhile, or stored by a try whose answer was lost
            webhook_outcome(
                subscriber_id=delivery.subscriber_id,
                now=now,
                ok=outcome.ok,
                result=outcome.result,
                final=dead,
                gone=outcome.status_code == 410,
            )
            if dead:
                _record_dead(delivery, outcome.result)
        ours.append(True)

    _durably(record, delivery)
    return values["status"] if ours else "gone"


def _durably(write, delivery: StatusDelivery) -> None:
    """The request was made: its outcome is stored even across a database outage (for as long as the
    row's lease lasts), rather than the row being taken over after its lease and sent again."""
    while_leased(write, delivery.lease_until, f"storing status delivery {delivery.pk}")


def send_one(delivery_id: int, token: uuid.UUID, connection) -> str:
    if not _still_ours(delivery_id, token):
        return "gone"
    delivery = (
        StatusDelivery.objects.select_related("organization", "subscriber__page", "update__notice__page")
        .prefetch_related("update__notice__components")
        .filter(pk=delivery_id, status=DeliveryStatus.SENDING, claim_token=token)
        .first()
    )
    if delivery is None:
        return "gone"
    if delivery.subscriber.kind == SubscriberKind.WEBHOOK:
        return _send_webhook(delivery, token)
    return _send_mail(delivery, token, connection)


def send_claimed(token: uuid.UUID, ids: list[int]) -> dict[str, int]:
    """Send the rows of one claim; returns how many ended in each state ("gone": another claim's now)."""
    counts: dict[str, int] = {}
    connection = get_connection(fail_silently=False)  # opened at the first mail, if any
    try:
        for delivery_id in ids:
            try:
                outcome = send_one(delivery_id, token, connection)
            except Exception:
                log.exception("status page delivery %s could not be recorded", delivery_id)
                outcome = "error"
            counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        try:
            connection.close()
        except Exception:
            log.warning("closing the mail connection failed")
    return counts


def run_delivery_tick(*, now=None, batch: int = BATCH) -> int:
    """Send what is due; returns how many rows were claimed."""
    token, ids = claim(now=now or timezone.now(), batch=batch)
    if ids:
        send_claimed(token, ids)
    return len(ids)
