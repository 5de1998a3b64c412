"""On-call and notifications: a person's browsers as contact methods (Web Push subscriptions).

A browser subscribes with the deployment's VAPID public key and hands us its push endpoint and keys;
that becomes a ``web_push`` contact method of the person (verified by the act of subscribing: only
the signed-in person's own browser can produce it), the keys sealed at rest. Subscribing the same
browser again refreshes its keys. A push service that answers 404/410 removes it (``subscription_gone``).
"""

from __future__ import annotations

import base64
import binascii
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import record
from notifications.models import ContactKind, ContactMethod, NotificationRule
from notifications.services.channels import validate_url
from notifications.services.contacts import MAX_CONTACT_METHODS
from notifications.web_push import vapid
from opsplatform.core import crypto
from opsplatform.core.actors import Actor, ActorKind


def _as_owner(actor: Actor, user) -> Actor:
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied("Only the account holder can change their contact methods.")
    return Actor(kind=ActorKind.USER, organization=None, user=actor.user)


def _key(value, field: str, length: int) -> str:
    try:
        raw = base64.urlsafe_b64decode(str(value) + "=" * (-len(str(value)) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != length:
        raise ValidationError({field: "Not a key this browser's push subscription would have."})
    return str(value)


@transaction.atomic
def web_push_subscribe(
    *, actor: Actor, user, endpoint: str, p256dh: str, auth: str, label: str = ""
) -> ContactMethod:
    owner = _as_owner(actor, user)
    if not vapid.enabled():
        raise ValidationError({"endpoint": "Browser push is not configured on this deployment."})
    endpoint = validate_url(endpoint, field="endpoint")
    if len(endpoint) > ContactMethod._meta.get_field("address").max_length:
        raise ValidationError({"endpoint": "This push endpoint is too long."})
    keys = json.dumps({"p256dh": _key(p256dh, "p256dh", 65), "auth": _key(auth, "auth", 16)})
    contact = (
        ContactMethod.objects.select_for_update()
        .filter(user=user, kind=ContactKind.WEB_PUSH, address=endpoint)
        .first()
    )
    created = contact is None
    if created:
        if ContactMethod.objects.filter(user=user).count() >= MAX_CONTACT_METHODS:
            raise ValidationError({"endpoint": f"At most {MAX_CONTACT_METHODS} contact methods."})
        contact = ContactMethod.objects.create(
            user=user,
            kind=ContactKind.WEB_PUSH,
            address=endpoint,
            label=(label or "This browser").strip()[:100],
            verified_at=timezone.now(),
        )
        # Pages reach a new device at once; the person can change the delay like any other rule.
        NotificationRule.objects.create(user=user, contact_method=contact, delay_minutes=0)
    contact.secret_encrypted = crypto.encrypt(keys, context=contact.secret_context)
    contact.save(update_fields=["secret_encrypted"])
    record(
        actor=owner,
        verb="contact_method.added" if created else "contact_method.push_keys_refreshed",
        target=contact,
        data={"kind": ContactKind.WEB_PUSH, "address": contact.masked_address},
        organization=None,
    )
    return contact


@transaction.atomic
def web_push_unsubscribe(*, actor: Actor, user, endpoint: str) -> bool:
    owner = _as_owner(actor, user)
    contact = ContactMethod.objects.filter(user=user, kind=ContactKind.WEB_PUSH, address=endpoint).first()
    if contact is None:
        return False
    record(
        actor=owner,
        verb="contact_method.removed",
        target=contact,
        data={"kind": contact.kind, "address": contact.masked_address},
        organization=None,
    )
    contact.delete()
    return True


def subscriptions_gone(status_by_contact: dict[int, int]) -> int:
    """Remove subscriptions their push service no longer knows (contact id → 404 or 410); called
    inside the transaction that records the delivery outcomes."""
    removed = 0
    contacts = ContactMethod.objects.select_for_update().filter(
        pk__in=status_by_contact, kind=ContactKind.WEB_PUSH
    )
    for contact in contacts.order_by("pk"):
        status_code = status_by_contact[contact.pk]
        record(
            actor=Actor.system("notifications.delivery"),
            verb="contact_method.subscription_gone",
            target=contact,
            data={"kind": contact.kind, "address": contact.masked_address, "status_code": status_code},
            organization=None,
        )
        contact.delete()
        removed += 1
    return removed
