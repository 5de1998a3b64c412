"""Celery tasks of the paging app: two beat ticks and the verification sender.

Each is safe to run twice and concurrently (see ``engine`` and ``delivery``): ticks take no
arguments and claim their own rows; the verification task takes ids and re-reads the row.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from notifications import delivery, engine
from notifications.models import ChannelKind, ContactKind, ContactMethod
from notifications.senders import Outgoing, payloads, send
from notifications.services.channels import carrier_channel, channel_secrets
from notifications.services.contacts import verification_code
from opsplatform.realtime.loop import run_with_event_loop

logger = logging.getLogger(__name__)


@shared_task(name="notifications.escalation_tick", ignore_result=True)
def escalation_tick() -> int:
    result = run_with_event_loop(engine.run_escalation_tick)
    if result.notifications:
        # The rows are committed; deliver them now rather than at the next delivery beat.
        delivery_tick.delay()
    return result.steps


@shared_task(name="notifications.delivery_tick", ignore_result=True)
def delivery_tick() -> int:
    budget = settings.NOTIFICATION_DELIVERY_TICK_BUDGET_SECONDS
    return run_with_event_loop(delivery.run_delivery_tick, time_budget=budget).sent


@shared_task(name="notifications.send_verification", ignore_result=True)
def send_verification(contact_id: int, nonce: str, organization_id: int | None) -> bool:
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
    outgoing = payloads.twilio(
        Outgoing(notification_id=0, attempt=1, medium=contact.kind),
        voice=voice,
        account_sid=channel.config.get("account_sid", ""),
        auth_token=channel_secrets(channel).get("auth_token", ""),
        from_number=channel.config.get("from_number", ""),
        to=contact.address,
        text=text if not voice else f"Your OpsPlatform verification code is {' '.join(code)}.",
        delivery_key=f"verify-{contact.pk}-{nonce}",
    )
    result = send(outgoing)
    if not result.ok:
        logger.warning("verification code to contact %s failed: %s", contact_id, result.error)
    return result.ok
