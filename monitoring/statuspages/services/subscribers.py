"""E-mail subscribers: subscribe (double opt-in), confirm and unsubscribe through signed links.

The public form is anonymous, so it is throttled per client address and per e-mail address, and it
answers the same whether the address was new, pending or already confirmed (no one learns who is
subscribed). Links are signed with the secret key: a confirm link names the subscriber and its
confirmation round (an older mail's link stops working once a new one is asked for) and expires;
an unsubscribe link does not expire, so every mail ever sent can still stop the next.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from audit.services import record
from monitoring.statuspages.models import (
    DeliveryStatus,
    StatusDelivery,
    StatusPage,
    StatusSubscriber,
    SubscriberKind,
)
from monitoring.statuspages.services.outbox import enqueue_confirmation
from opsplatform.core.actors import Actor

CONFIRM_SALT = "statuspages.subscriber.confirm"
UNSUBSCRIBE_SALT = "statuspages.subscriber.unsubscribe"
WINDOW_SECONDS = 3600
JOB = "status_page.subscribers"


class SubscribeThrottled(ValidationError):
    """Too many subscription requests from one client or for one address: nothing was sent."""


def confirm_token(subscriber: StatusSubscriber) -> str:
    return signing.dumps([subscriber.pk, subscriber.confirm_round], salt=CONFIRM_SALT, compress=True)


def unsubscribe_token(subscriber: StatusSubscriber) -> str:
    return signing.dumps(subscriber.pk, salt=UNSUBSCRIBE_SALT)


def _take(key: str, limit: int) -> bool:
    # A fixed hourly window in the shared cache: add() sets the expiry once, incr() counts atomically.
    cache.add(key, 0, timeout=WINDOW_SECONDS + 60)
    if cache.incr(key) <= limit:
        return True
    cache.decr(key)
    return False


def _throttle(page: StatusPage, email: str, client_ip: str) -> None:
    window = int(time.time()) // WINDOW_SECONDS
    ip_key = f"statuspages:subscribe:ip:{client_ip}:{window}"
    if not _take(ip_key, settings.STATUS_SUBSCRIBE_PER_IP_HOUR):
        raise SubscribeThrottled(
            {"email": "Too many requests from your network; try again later."}, code="throttled"
        )
    digest = hashlib.sha256(email.encode()).hexdigest()[:32]
    address_key = f"statuspages:subscribe:address:{page.pk}:{digest}:{window}"
    if not _take(address_key, settings.STATUS_SUBSCRIBE_PER_ADDRESS_HOUR):
        cache.decr(ip_key)
        raise SubscribeThrottled(
            {"email": "A confirmation was sent to this address several times already; check your inbox."},
            code="throttled",
        )


def normalize_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": "Enter a valid e-mail address."}) from exc
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


@transaction.atomic
def subscriber_subscribe(*, page: StatusPage, email: str, client_ip: str) -> StatusSubscriber | None:
    """Ask ``email`` to confirm a subscription to ``page``. Returns the subscriber waiting for its
    confirmation, or None when the address is already subscribed (the caller says the same either way)."""
    if not page.published or not page.subscriptions_enabled:
        raise ValidationError({"email": "This page does not take subscriptions."})
    email = normalize_email(email)
    _throttle(page, email, client_ip)
    subscriber, created = StatusSubscriber.objects.select_for_update().get_or_create(
        page=page, kind=SubscriberKind.EMAIL, email=email, defaults={"organization_id": page.organization_id}
    )
    if subscriber.active:
        return None
    subscriber.confirm_round += 1
    subscriber.save(update_fields=["confirm_round"])
    enqueue_confirmation(subscriber)
    record(
        actor=Actor.system(JOB, organization=page.organization),
        verb="status_subscriber.requested",
        target=subscriber,
        data={"page": page.pk, "round": subscriber.confirm_round, "new": created},
    )
    return subscriber


@transaction.atomic
def subscriber_confirm(*, token: str) -> StatusSubscriber:
    try:
        subscriber_id, round_ = signing.loads(
            token, salt=CONFIRM_SALT, max_age=settings.STATUS_CONFIRM_LINK_MAX_AGE_HOURS * 3600
        )
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise ValidationError("This confirmation link is invalid or has expired.") from exc
    subscriber = (
        StatusSubscriber.objects.select_for_update()
        .select_related("organization")
        .filter(pk=subscriber_id, kind=SubscriberKind.EMAIL)
        .first()
    )
    if subscriber is None or subscriber.confirm_round != round_:
        raise ValidationError("This confirmation link is no longer valid; subscribe again for a new one.")
    if subscriber.active:
        return subscriber
    subscriber.confirmed_at = timezone.now()
    subscriber.unsubscribed_at = None
    subscriber.save(update_fields=["confirmed_at", "unsubscribed_at"])
    record(
        actor=Actor.system(JOB, organization=subscriber.organization),
        verb="status_subscriber.confirmed",
        target=subscriber,
        data={"page": subscriber.page_id},
    )
    return subscriber


@transaction.atomic
def subscriber_unsubscribe(*, token: str) -> StatusSubscriber:
    try:
        subscriber_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise ValidationError("This unsubscribe link is invalid.") from exc
    subscriber = (
        StatusSubscriber.objects.select_for_update()
        .select_related("organization")
        .filter(pk=subscriber_id, kind=SubscriberKind.EMAIL)
        .first()
    )
    if subscriber is None:
        raise ValidationError("This unsubscribe link is invalid.")
    if subscriber.unsubscribed_at is not None:
        return subscriber
    subscriber.unsubscribed_at = timezone.now()
    subscriber.save(update_fields=["unsubscribed_at"])
    StatusDelivery.objects.filter(
        subscriber=subscriber, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
    ).update(status=DeliveryStatus.CANCELLED, lease_until=None)
    record(
        actor=Actor.system(JOB, organization=subscriber.organization),
        verb="status_subscriber.unsubscribed",
        target=subscriber,
        data={"page": subscriber.page_id},
    )
    return subscriber
