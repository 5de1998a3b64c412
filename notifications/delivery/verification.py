"""On-call and notifications: sending the code that proves a new contact method. E-mail goes out
through Django's mailer; text messages and calls through the organization's Twilio channel, with the
same Twilio sender that pages people."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from notifications.models import ChannelKind, ContactKind, ContactMethod
from notifications.selectors import carrier_channel, verification_code
from notifications.senders import Outgoing, TwilioSender, send

logger = logging.getLogger(__name__)


def send_verification_code(contact_id: int, nonce: str, organization_id: int | None) -> bool:
    """Send the code for ``nonce``; a newer request (another nonce) or a verified contact ends it."""
    contact = ContactMethod.objects.filter(pk=contact_id, verification_nonce=nonce, verified_at=None).first()
    if contact is None:
        return False
    code = verification_code(contact, nonce)
    text = f"Your OpsPlatform verification code is {code}. It expires in 15 minutes."
    if contact.kind == ContactKind.EMAIL:
        send_mail("Your OpsPlatform verification code", text, settings.DEFAULT_FROM_EMAIL, [contact.address])
        return True
    voice = contact.kind == ContactKind.VOICE
    kinds = (ChannelKind.TWILIO_VOICE, ChannelKind.TWILIO_SMS) if voice else (ChannelKind.TWILIO_SMS,)
    channel = carrier_channel(organization_id, kinds) if organization_id else None
    if channel is None:
        logger.warning("no Twilio channel to send contact %s its verification code", contact_id)
        return False
    sender = TwilioSender.for_channel(channel, to=contact.address, voice=voice)
    outgoing = sender.say(
        Outgoing(notification_id=0, attempt=1, medium=contact.kind),
        text=text if not voice else f"Your OpsPlatform verification code is {' '.join(code)}.",
        delivery_key=f"verify-{contact.pk}-{nonce}",
    )
    result = send(outgoing)
    if not result.ok:
        logger.warning("verification code to contact %s failed: %s", contact_id, result.error)
    return result.ok
