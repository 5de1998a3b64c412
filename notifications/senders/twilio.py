"""On-call and notifications: Twilio text messages and voice calls, with the organization's own
Twilio account (its channel holds the account SID, the sender number and the sealed auth token).

The same sender carries the incident (a channel's numbers, or a person's SMS/voice contact method
through the organization's Twilio channel) and the verification code of a new phone contact method.
"""

from __future__ import annotations

from urllib.parse import urlencode
from xml.sax.saxutils import escape

from django.conf import settings

from notifications.incident_message import IncidentMessage
from notifications.message import Message
from notifications.models import ChannelKind
from notifications.selectors import channel_secrets
from notifications.senders.base import Outgoing
from notifications.senders.http_sender import HttpSender


class TwilioSender(HttpSender):
    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, to: str, voice: bool):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.to = to
        self.voice = voice

    @classmethod
    def for_channel(cls, channel, *, to: str, voice: bool | None = None, **_) -> TwilioSender:
        """Through ``channel`` to the number ``to``; a call when ``voice`` (default: the channel's kind)."""
        return cls(
            account_sid=channel.config.get("account_sid", ""),
            auth_token=channel_secrets(channel).get("auth_token", ""),
            from_number=channel.config.get("from_number", ""),
            to=to,
            voice=channel.kind == ChannelKind.TWILIO_VOICE if voice is None else voice,
        )

    def build(self, outgoing: Outgoing, message: IncidentMessage | Message) -> Outgoing:
        text = message.spoken_text() if self.voice else message.short_text()
        return self.say(outgoing, text=text, delivery_key=message.delivery_key)

    # A generic message has its short and spoken texts too.
    build_message = build

    def say(self, outgoing: Outgoing, *, text: str, delivery_key: str) -> Outgoing:
        """A text message (``text``) or a call that reads ``text`` out twice, through Twilio's REST API.
        For text that is not an incident message (a verification code); ``build`` uses it too."""
        outgoing.sender = self
        base = f"{settings.TWILIO_API_BASE}/2010-04-01/Accounts/{self.account_sid}"
        if self.voice:
            spoken = escape(text)
            twiml = f'<Response><Say>{spoken}</Say><Pause length="1"/><Say>{spoken}</Say></Response>'
            form = {"To": self.to, "From": self.from_number, "Twiml": twiml}
            url = f"{base}/Calls.json"
        else:
            form = {"To": self.to, "From": self.from_number, "Body": text}
            url = f"{base}/Messages.json"
        outgoing.url = url
        outgoing.content = urlencode(form).encode()
        outgoing.headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            # Twilio drops a repeated request carrying the same token (a retry after a lost response).
            "I-Twilio-Idempotency-Token": delivery_key,
            "X-OpsPlatform-Delivery": delivery_key,
            "X-OpsPlatform-Attempt": str(outgoing.attempt),
        }
        outgoing.auth = (self.account_sid, self.auth_token)
        return outgoing
