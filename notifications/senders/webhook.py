"""On-call and notifications: the outbound webhook, a signed JSON POST.

Signature (documented for receivers in docs/webhooks.md)::

    X-OpsPlatform-Timestamp: <unix seconds>
    X-OpsPlatform-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
    X-OpsPlatform-Delivery:  <delivery id: the same on every retry of one notification>

An organization's webhook channel and a person's webhook contact method send the same body; the
person's names them as ``recipient`` and carries their acknowledge link.
"""

from __future__ import annotations

import json
import time

from notifications.incident_message import IncidentMessage
from notifications.message import Message
from notifications.selectors import channel_secrets, contact_secret
from notifications.senders.base import Outgoing
from notifications.senders.http_sender import HttpSender, delivery_headers
from opsplatform.core.webhook_signature import sign


def webhook_body(message: IncidentMessage, attempt: int, recipient: str | None) -> dict:
    return {
        "type": "incident.notification",
        "delivery_id": message.delivery_key,
        "attempt": attempt,
        "organization": message.organization,
        "incident": {
            "id": message.incident_id,
            "title": message.title,
            "status": message.status,
            "severity": message.severity,
            "service": message.service,
            "team": message.team,
            "url": message.url,
        },
        "escalation": {"step": message.step + 1, "round": message.cycle + 1},
        "recipient": recipient,
        "acknowledge_url": message.ack_url or None,
    }


def message_body(message: Message, attempt: int, recipient: str | None) -> dict:
    """A generic message (docs/webhooks.md): its ``kind`` as ``type``, the text, the links, and the
    caller's structured ``data`` (which never overrides these keys)."""
    return {
        **message.data,
        "type": message.kind,
        "delivery_id": message.delivery_key,
        "attempt": attempt,
        "organization": message.organization,
        "subject": message.subject,
        "text": message.text(),
        "links": [{"label": link.label, "url": link.url} for link in message.links],
        "recipient": recipient,
    }


class WebhookSender(HttpSender):
    def __init__(self, url: str, secret: str, *, recipient: str | None = None, personal: bool = False):
        self.url = url
        self.secret = secret
        self.recipient = recipient
        # A person's own endpoint carries their acknowledge link; an organization's endpoint none.
        self.with_ack_link = personal

    @classmethod
    def for_channel(cls, channel, **_) -> WebhookSender:
        secrets_ = channel_secrets(channel)
        return cls(secrets_["url"], secrets_.get("signing_secret", ""))

    @classmethod
    def for_contact(cls, contact, *, recipient: str | None) -> WebhookSender:
        return cls(contact.address, contact_secret(contact), recipient=recipient, personal=True)

    def build(self, outgoing: Outgoing, message: IncidentMessage) -> Outgoing:
        return self._signed(outgoing, message, webhook_body(message, outgoing.attempt, self.recipient))

    def build_message(self, outgoing: Outgoing, message: Message) -> Outgoing:
        return self._signed(outgoing, message, message_body(message, outgoing.attempt, self.recipient))

    def _signed(self, outgoing: Outgoing, message, body: dict) -> Outgoing:
        content = json.dumps(body, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = {
            **delivery_headers(message, outgoing.attempt),
            "Content-Type": "application/json",
            "X-OpsPlatform-Timestamp": str(timestamp),
        }
        if self.secret:
            headers["X-OpsPlatform-Signature"] = sign(self.secret, timestamp, content)
        outgoing.url, outgoing.content, outgoing.headers = self.url, content, headers
        return outgoing
