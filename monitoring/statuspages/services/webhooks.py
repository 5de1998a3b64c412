"""Webhook subscribers: an operator registers an endpoint for a page, removes it, or enables it again
after the outbox disabled it; the outbox reports each attempt's outcome here.

An operator vouches for the endpoint, so it is confirmed at once (no public self-service: an
anonymous form would let anyone aim the platform's requests at a URL of their choice). The URL is
vetted before it is stored: http(s), no credentials, and not a name or address the SSRF guard
refuses; the guard checks the address again at every connect. Each endpoint gets its own signing
secret, shown once and stored encrypted.

An endpoint that fails for good is disabled: at once on ``410 Gone`` (the receiver says it is gone),
or after ``DISABLE_AFTER`` dead deliveries in a row (other 4xx answers, a refused address, or every
retry used up). Its waiting deliveries are cancelled; nothing more is queued for it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
from django.core.exceptions import ValidationError
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
from opsplatform.core import crypto, http
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Capability

JOB = "status_page.webhooks"
SECRET_PREFIX = "whsec_"
MAX_URL = 2000
MAX_PER_PAGE = 50
DISABLE_AFTER = 3


@dataclass(frozen=True)
class IssuedWebhook:
    subscriber: StatusSubscriber
    signing_secret: str  # shown once, at creation


def secret_context(subscriber_id: int) -> str:
    return f"statuswebhook:{subscriber_id}"


def webhook_secret(subscriber: StatusSubscriber) -> str:
    if not subscriber.secret:
        return ""
    return crypto.decrypt(subscriber.secret, context=secret_context(subscriber.pk))


def validate_webhook_url(value: str) -> str:
    """The URL, or a ``url`` field error saying why it cannot be used."""
    value = (value or "").strip()
    if not value:
        raise ValidationError({"url": "A URL is required."})
    if len(value) > MAX_URL:
        raise ValidationError({"url": f"At most {MAX_URL} characters."})
    try:
        parsed = http.vet_url(value)
    except ValueError as exc:
        raise ValidationError({"url": str(exc)}) from exc
    # Say now what the guard would say at every delivery, rather than storing an endpoint that can
    # only dead-letter. A name that does not resolve yet is accepted: it may exist by the first update.
    try:
        http.vetted_addresses(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))
    except http.OutboundRefused as exc:
        raise ValidationError(
            {"url": f"{parsed.host} resolves to a non-public address, which this deployment refuses."}
        ) from exc
    except httpx.ConnectError:
        pass
    return value


def _ledger_view(subscriber: StatusSubscriber) -> dict:
    # The URL may carry a token of the receiver's (many webhook URLs are their own credential): only
    # its host goes to the ledger.
    return {
        "page": subscriber.page_id,
        "kind": subscriber.kind,
        "host": httpx.URL(subscriber.url).host,
        "description": subscriber.description,
    }


def webhook_add(*, actor: Actor, page: StatusPage, url: str, description: str = "") -> IssuedWebhook:
    actor.require(Capability.MONITOR_MANAGE)
    url = validate_webhook_url(url)
    description = (description or "").strip()
    if len(description) > 150:
        raise ValidationError({"description": "At most 150 characters."})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        page = StatusPage.objects.select_for_update().get(pk=page.pk, organization=actor.organization)
        hooks = StatusSubscriber.objects.filter(page=page, kind=SubscriberKind.WEBHOOK)
        if hooks.filter(url=url).exists():
            raise ValidationError({"url": "This page already sends its updates to this URL."})
        if hooks.count() >= MAX_PER_PAGE:
            raise ValidationError({"url": f"A page has at most {MAX_PER_PAGE} webhook subscribers."})
        subscriber = StatusSubscriber.objects.create(
            organization=page.organization,
            page=page,
            kind=SubscriberKind.WEBHOOK,
            url=url,
            description=description,
            created_at=now,
            confirmed_at=now,
        )
        subscriber.secret = crypto.encrypt(secret, context=secret_context(subscriber.pk))
        subscriber.save(update_fields=["secret"])
        record(
            actor=actor,
            verb="status_subscriber.webhook_added",
            target=subscriber,
            data=_ledger_view(subscriber),
        )
    return IssuedWebhook(subscriber, secret)


def _webhook_for_update(actor: Actor, subscriber: StatusSubscriber) -> StatusSubscriber:
    actor.require(Capability.MONITOR_MANAGE)
    return StatusSubscriber.objects.select_for_update().get(
        pk=subscriber.pk, organization=actor.organization, kind=SubscriberKind.WEBHOOK
    )


@transaction.atomic
def webhook_remove(*, actor: Actor, subscriber: StatusSubscriber) -> None:
    """Delete the endpoint and its deliveries: what is still waiting is never sent."""
    subscriber = _webhook_for_update(actor, subscriber)
    record(
        actor=actor,
        verb="status_subscriber.webhook_removed",
        target=subscriber,
        data=_ledger_view(subscriber),
    )
    subscriber.delete()


@transaction.atomic
def webhook_enable(*, actor: Actor, subscriber: StatusSubscriber) -> StatusSubscriber:
    """Deliver to a disabled endpoint again (from the next update on; dead letters stay dead)."""
    subscriber = _webhook_for_update(actor, subscriber)
    if subscriber.disabled_at is None:
        return subscriber
    subscriber.disabled_at = None
    subscriber.disabled_reason = ""
    subscriber.consecutive_failures = 0
    subscriber.save(update_fields=["disabled_at", "disabled_reason", "consecutive_failures"])
    record(
        actor=actor,
        verb="status_subscriber.webhook_enabled",
        target=subscriber,
        data=_ledger_view(subscriber),
    )
    return subscriber


def webhook_outcome(
    *, subscriber_id: int, now, ok: bool, result: str, final: bool, gone: bool = False
) -> StatusSubscriber | None:
    """Record one attempt's outcome on its endpoint, inside the caller's transaction (the one that
    finishes the delivery). ``final``: the delivery is dead (no retry left or none would help);
    ``gone``: the receiver answered 410. Returns the endpoint when this outcome disabled it."""
    subscriber = (
        StatusSubscriber.objects.select_for_update()
        .select_related("organization")
        .filter(pk=subscriber_id, kind=SubscriberKind.WEBHOOK)
        .first()
    )
    if subscriber is None:
        return None
    subscriber.last_delivery_at = now
    subscriber.last_delivery_ok = ok
    subscriber.last_delivery_result = result[:300]
    fields = ["last_delivery_at", "last_delivery_ok", "last_delivery_result"]
    if ok:
        subscriber.consecutive_failures = 0
        fields.append("consecutive_failures")
    elif final:
        subscriber.consecutive_failures = min(subscriber.consecutive_failures + 1, 1000)  # the row is locked
        fields.append("consecutive_failures")
    subscriber.save(update_fields=fields)
    if ok or not final or subscriber.disabled_at is not None:
        return None
    if not gone and subscriber.consecutive_failures < DISABLE_AFTER:
        return None
    subscriber.disabled_at = now
    subscriber.disabled_reason = (
        "The endpoint answered 410 Gone."
        if gone
        else f"{subscriber.consecutive_failures} deliveries in a row failed for good; last: {result}"
    )[:300]
    subscriber.save(update_fields=["disabled_at", "disabled_reason"])
    cancelled = StatusDelivery.objects.filter(
        subscriber=subscriber, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
    ).update(status=DeliveryStatus.CANCELLED, lease_until=None, claim_token=None)
    record(
        actor=Actor.system(JOB, organization=subscriber.organization),
        verb="status_subscriber.webhook_disabled",
        target=subscriber,
        data={
            **_ledger_view(subscriber),
            "reason": subscriber.disabled_reason,
            "failures": subscriber.consecutive_failures,
            "cancelled": cancelled,
        },
    )
    return subscriber
