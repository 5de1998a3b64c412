"""On-call and notifications: a person's contact methods, their verification, and personal
notification rules.

These belong to the person, not to an organization: only the account holder changes them, and their
ledger entries go on the platform chain with masked addresses (the ledger is immutable; a full phone
number in it could never be erased).

Verification codes are not stored. A code is an HMAC of the contact's id and a random nonce kept on
the row, so the task that sends it can recompute it from ids alone (no code in the broker) and a new
request (a new nonce) invalidates the previous code.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from audit.services import record
from notifications.enqueue_after_commit import enqueue_verification
from notifications.models import ContactKind, ContactMethod, NotificationRule
from notifications.models.contacts import VERIFIED_KINDS
from notifications.selectors import verification_code
from notifications.services.channels import SIGNING_SECRET_PREFIX, validate_phone, validate_url
from notifications.services.verification_limits import take_verification
from opsplatform.core import crypto
from opsplatform.core.actors import Actor, ActorKind

CODE_TTL = timedelta(minutes=15)
RESEND_INTERVAL = timedelta(seconds=60)
MAX_CODE_ATTEMPTS = 5
MAX_CONTACT_METHODS = 20
MAX_RULES = 20
SLACK_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")


@dataclass(frozen=True)
class IssuedContact:
    contact: ContactMethod
    signing_secret: str = ""  # webhook contacts: shown once


def _as_owner(actor: Actor, user) -> Actor:
    if actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied("Only the account holder can change their contact methods.")
    return Actor(kind=ActorKind.USER, organization=None, user=actor.user)


def _clean_address(kind: str, address: str) -> str:
    address = (address or "").strip()
    if kind == ContactKind.EMAIL:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError({"address": "Not an e-mail address."}) from exc
        return address.lower()
    if kind in (ContactKind.SMS, ContactKind.VOICE):
        try:
            return validate_phone(address, "address")
        except ValidationError as exc:
            raise ValidationError({"address": exc.message_dict["address"]}) from exc
    if kind == ContactKind.SLACK:
        if not SLACK_MEMBER_ID.match(address):
            raise ValidationError(
                {"address": "A Slack member id looks like U0123ABCD (profile → Copy member ID)."}
            )
        return address
    if kind == ContactKind.WEBHOOK:
        return validate_url(address, field="address")
    if kind == ContactKind.WEB_PUSH:
        raise ValidationError({"kind": "Browser push is turned on from the browser itself."})
    raise ValidationError({"kind": f"Choose one of {', '.join(ContactKind.values)}."})


@transaction.atomic
def contact_method_add(*, actor: Actor, user, kind: str, address: str, label: str = "") -> IssuedContact:
    owner = _as_owner(actor, user)
    address = _clean_address(kind, address)
    if ContactMethod.objects.filter(user=user).count() >= MAX_CONTACT_METHODS:
        raise ValidationError({"address": f"At most {MAX_CONTACT_METHODS} contact methods."})
    if ContactMethod.objects.filter(user=user, kind=kind, address=address).exists():
        raise ValidationError({"address": "You already have this contact method."})
    contact = ContactMethod.objects.create(
        user=user,
        kind=kind,
        address=address,
        label=(label or "").strip()[:100],
        verified_at=None if kind in VERIFIED_KINDS else timezone.now(),
    )
    signing_secret = ""
    if kind == ContactKind.WEBHOOK:
        signing_secret = SIGNING_SECRET_PREFIX + secrets.token_urlsafe(32)
        contact.secret_encrypted = crypto.encrypt(signing_secret, context=contact.secret_context)
        contact.save(update_fields=["secret_encrypted"])
    record(
        actor=owner,
        verb="contact_method.added",
        target=contact,
        data={"kind": kind, "address": contact.masked_address},
        organization=None,
    )
    return IssuedContact(contact=contact, signing_secret=signing_secret)


@transaction.atomic
def contact_method_send_verification(
    *, actor: Actor, contact: ContactMethod, organization=None
) -> ContactMethod:
    """Send a fresh code (e-mail, or SMS/voice through ``organization``'s Twilio channel)."""
    owner = _as_owner(actor, contact.user)
    contact = ContactMethod.objects.select_for_update().get(pk=contact.pk)
    if contact.kind not in VERIFIED_KINDS:
        raise ValidationError({"contact": "This kind of contact method needs no verification."})
    if contact.is_verified:
        return contact
    now = timezone.now()
    if contact.verification_sent_at and now - contact.verification_sent_at < RESEND_INTERVAL:
        raise ValidationError({"contact": "A code was sent less than a minute ago; check your messages."})
    if contact.kind != ContactKind.EMAIL and organization is None:
        raise ValidationError(
            {"contact": "Text messages and calls go through an organization's Twilio channel."}
        )
    # Last check before sending: a refused request must not count, and a counted one is sent.
    take_verification(user_id=contact.user_id, organization_id=organization.pk if organization else None)
    contact.verification_nonce = secrets.token_hex(16)
    contact.verification_sent_at = now
    contact.verification_attempts = 0
    contact.save(update_fields=["verification_nonce", "verification_sent_at", "verification_attempts"])
    record(
        actor=owner,
        verb="contact_method.verification_sent",
        target=contact,
        data={"kind": contact.kind, "address": contact.masked_address},
        organization=None,
    )
    enqueue_verification(contact.pk, contact.verification_nonce, organization.pk if organization else None)
    return contact


def contact_method_verify(*, actor: Actor, contact: ContactMethod, code: str) -> ContactMethod:
    owner = _as_owner(actor, contact.user)
    with transaction.atomic():
        contact = ContactMethod.objects.select_for_update().get(pk=contact.pk)
        if contact.is_verified:
            return contact
        now = timezone.now()
        if not contact.verification_nonce or not contact.verification_sent_at:
            raise ValidationError({"code": "Request a code first."})
        if now - contact.verification_sent_at > CODE_TTL:
            raise ValidationError({"code": "This code has expired; request a new one."})
        if contact.verification_attempts >= MAX_CODE_ATTEMPTS:
            raise ValidationError({"code": "Too many wrong codes; request a new one."})
        right = constant_time_compare((code or "").strip(), verification_code(contact))
        if right:
            contact.verified_at = now
            contact.verification_nonce = ""
            contact.save(update_fields=["verified_at", "verification_nonce"])
            record(
                actor=owner,
                verb="contact_method.verified",
                target=contact,
                data={"kind": contact.kind, "address": contact.masked_address},
                organization=None,
            )
        else:
            # Committed before the error is raised: a wrong guess must count, or the limit means nothing.
            contact.verification_attempts += 1
            contact.save(update_fields=["verification_attempts"])
    if not right:
        raise ValidationError({"code": "That code is not right."})
    return contact


@transaction.atomic
def contact_method_delete(*, actor: Actor, contact: ContactMethod) -> None:
    owner = _as_owner(actor, contact.user)
    record(
        actor=owner,
        verb="contact_method.removed",
        target=contact,
        data={"kind": contact.kind, "address": contact.masked_address},
        organization=None,
    )
    contact.delete()


@transaction.atomic
def notification_rule_add(*, actor: Actor, contact: ContactMethod, delay_minutes: int) -> NotificationRule:
    owner = _as_owner(actor, contact.user)
    if not isinstance(delay_minutes, int) or not 0 <= delay_minutes <= 24 * 60:
        raise ValidationError({"delay_minutes": "Between 0 and 1440 minutes."})
    if NotificationRule.objects.filter(user=contact.user).count() >= MAX_RULES:
        raise ValidationError({"delay_minutes": f"At most {MAX_RULES} rules."})
    if NotificationRule.objects.filter(contact_method=contact, delay_minutes=delay_minutes).exists():
        raise ValidationError({"delay_minutes": "This rule exists already."})
    rule = NotificationRule.objects.create(
        user=contact.user, contact_method=contact, delay_minutes=delay_minutes
    )
    record(
        actor=owner,
        verb="notification_rule.added",
        target=contact.user,
        data={"rule": rule.pk, "kind": contact.kind, "delay_minutes": delay_minutes},
        organization=None,
    )
    return rule


@transaction.atomic
def notification_rule_delete(*, actor: Actor, rule: NotificationRule) -> None:
    owner = _as_owner(actor, rule.user)
    record(
        actor=owner,
        verb="notification_rule.removed",
        target=rule.user,
        data={"rule": rule.pk, "delay_minutes": rule.delay_minutes},
        organization=None,
    )
    rule.delete()
