"""On-call and notifications: the send phase of a delivery tick, up to the thread pool. Each claimed
row is handed to the sender of its medium, which prepares one request (``senders.send`` then makes it
in a sender thread).

A row that cannot be prepared (its channel disabled or removed, no organization channel to carry a
personal contact method, credentials that do not open) fails on its own: the rest of the batch goes.
"""

from __future__ import annotations

import logging

from notifications import senders
from notifications.incident_message import build_message
from notifications.models import Channel, Medium, Notification
from notifications.selectors import carrier_channel
from notifications.senders import CannotSend, EmailSender, Outgoing, Sender, failed
from notifications.senders.base import clean_error
from opsplatform.core.crypto import DecryptionError

logger = logging.getLogger(__name__)


class Carriers:
    """The organization channels that carry personal contact methods, looked up once per tick."""

    def __init__(self):
        self._cache = {}

    def get(self, organization_id: int, kinds: tuple) -> Channel | None:
        key = (organization_id, kinds)
        if key not in self._cache:
            self._cache[key] = carrier_channel(organization_id, kinds)
        return self._cache[key]


def _sender_for(row: Notification, outgoing: Outgoing, carriers: Carriers) -> Sender:
    """The sender that reaches the row's channel, contact method or account address; the channel
    the request goes through is noted on ``outgoing`` (its health follows the outcome)."""
    if row.channel_id:
        channel = row.channel
        if not channel.is_active:
            raise CannotSend(f"channel {channel.name} is disabled")
        outgoing.channel_id = channel.pk
        return senders.for_channel(channel, to=row.target_address)
    if row.contact_method_id:
        recipient = row.recipient if row.recipient_id else None
        return person_sender(row.organization_id, row.contact_method, recipient, outgoing, carriers)
    if row.recipient_id and row.medium == Medium.EMAIL and row.recipient.email:
        return EmailSender([row.recipient.email])
    raise CannotSend("the channel or contact method of this notification was removed")


def person_sender(organization_id: int, contact, user, outgoing: Outgoing, carriers: Carriers) -> Sender:
    """The sender that reaches ``user`` through their ``contact`` method (through the organization's
    carrier channel when its kind needs one), or at their account address when ``contact`` is None.
    For pages and for the messages of higher layers (approvals, tasks) alike."""
    if contact is None:
        if user is not None and user.email:
            return EmailSender([user.email])
        raise CannotSend("the person has no e-mail address")
    carrier = None
    if contact.kind in senders.CARRIER_KINDS:
        carrier = carriers.get(organization_id, senders.CARRIER_KINDS[contact.kind])
        if carrier is not None:
            outgoing.channel_id = carrier.pk
    return senders.for_contact(contact, carrier=carrier, recipient=user.username if user else None)


def prepare(row: Notification, carriers: Carriers) -> Outgoing:
    """The request for one claimed row, or the row's failure (never an exception)."""
    outgoing = Outgoing(notification_id=row.pk, attempt=row.attempts, medium=row.medium)
    return prepare_with(
        outgoing,
        lambda: _sender_for(row, outgoing, carriers),
        lambda sender: build_message(
            row, row.incident, with_ack_link=sender.with_ack_link, shared_room=sender.shared_room
        ),
    )


def prepare_with(outgoing: Outgoing, sender_for, message_for) -> Outgoing:
    """``outgoing`` prepared by ``sender_for()`` with ``message_for(sender)``, or marked failed with
    the reason: whatever goes wrong preparing one row stays on that row."""
    row_id = outgoing.notification_id
    try:
        sender = sender_for()
        return sender.prepare(outgoing, message_for(sender))
    except CannotSend as exc:
        return failed(outgoing, str(exc))
    except DecryptionError:
        return failed(outgoing, "the channel's credentials cannot be opened with this deployment's key")
    except (KeyError, ValueError) as exc:
        logger.warning("notification %s cannot be prepared: %s", row_id, type(exc).__name__)
        return failed(outgoing, "the channel's configuration is incomplete")
    except Exception as exc:  # one row's failure must never reach the others (inv. 13)
        logger.warning("notification %s cannot be prepared: %s", row_id, type(exc).__name__)
        return failed(outgoing, clean_error(f"cannot be prepared: {type(exc).__name__}: {exc}"))
