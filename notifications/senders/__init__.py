"""On-call and notifications: senders, one module per medium behind one interface (``base.Sender``).

The delivery worker hands the channel or contact method of a notification to :func:`for_channel` /
:func:`for_contact` and gets the sender that reaches it; the sender opens the secrets it needs
itself. Preparing (``Sender.prepare``) happens in the worker's main thread; sending (:func:`send`)
happens in a thread pool and touches no database. See ``notifications.delivery``.
"""

from __future__ import annotations

from notifications.models import Channel, ChannelKind, ContactKind, ContactMethod
from notifications.senders.base import CannotSend, Outcome, Outgoing, Sender, SendResult, failed, send
from notifications.senders.email import EmailSender
from notifications.senders.slack import SlackSender
from notifications.senders.teams import TeamsSender
from notifications.senders.twilio import TwilioSender
from notifications.senders.web_push import WebPushSender
from notifications.senders.webhook import WebhookSender

__all__ = [
    "CARRIER_KINDS",
    "CannotSend",
    "EmailSender",
    "Outcome",
    "Outgoing",
    "SendResult",
    "Sender",
    "SlackSender",
    "TeamsSender",
    "TwilioSender",
    "WebPushSender",
    "WebhookSender",
    "failed",
    "for_channel",
    "for_contact",
    "send",
]

CHANNEL_SENDERS = {
    ChannelKind.EMAIL: EmailSender,
    ChannelKind.SLACK: SlackSender,
    ChannelKind.TEAMS: TeamsSender,
    ChannelKind.WEBHOOK: WebhookSender,
    ChannelKind.TWILIO_SMS: TwilioSender,
    ChannelKind.TWILIO_VOICE: TwilioSender,
}

# Personal contact methods that go out through one of the organization's channels (a Slack mention
# through its Slack webhook, texts and calls through its Twilio account): the kinds that carry
# them, preferred first.
CARRIER_KINDS = {
    ContactKind.SLACK: (ChannelKind.SLACK,),
    ContactKind.SMS: (ChannelKind.TWILIO_SMS, ChannelKind.TWILIO_VOICE),
    ContactKind.VOICE: (ChannelKind.TWILIO_VOICE, ChannelKind.TWILIO_SMS),
}
_NO_CARRIER = {
    ContactKind.SLACK: "no active Slack channel in this organization to mention the person in",
    ContactKind.SMS: "no active Twilio channel in this organization for text messages and calls",
    ContactKind.VOICE: "no active Twilio channel in this organization for text messages and calls",
}


def for_channel(channel: Channel, *, to: str = "") -> Sender:
    """The sender of an organization channel; ``to``: the one number of a Twilio channel's row."""
    return CHANNEL_SENDERS[channel.kind].for_channel(channel, to=to)


def for_contact(contact: ContactMethod, *, carrier: Channel | None, recipient: str | None) -> Sender:
    """The sender of a person's contact method. ``carrier``: the organization channel it goes through
    when its kind needs one (see ``CARRIER_KINDS``); ``recipient``: the person, named to webhooks."""
    kind = contact.kind
    if kind in CARRIER_KINDS and carrier is None:
        raise CannotSend(_NO_CARRIER[kind])
    if kind == ContactKind.EMAIL:
        return EmailSender([contact.address])
    if kind == ContactKind.WEBHOOK:
        return WebhookSender.for_contact(contact, recipient=recipient)
    if kind == ContactKind.WEB_PUSH:
        return WebPushSender.for_contact(contact)
    if kind == ContactKind.SLACK:
        return SlackSender.for_channel(carrier, mention=contact.address)
    return TwilioSender.for_channel(carrier, to=contact.address, voice=kind == ContactKind.VOICE)
