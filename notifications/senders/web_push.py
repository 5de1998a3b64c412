"""On-call and notifications: a page to a person's browser through its push service.

The payload is encrypted for the subscription (RFC 8291, ``aes128gcm``, by pywebpush) and the request
carries the deployment's VAPID token (RFC 8292). ``TTL`` bounds how long the push service holds a
page for an offline device; ``Urgency: high`` wakes it. The request goes through the guarded HTTP
client like every other medium, and the outbox retries it. A push service answering 404 or 410 says
the subscription is gone: the delivery outcome removes that contact method (``delivery.outcome``).
"""

from __future__ import annotations

import json

from django.conf import settings
from pywebpush import WebPusher

from notifications.incident_message import IncidentMessage
from notifications.selectors import contact_secret
from notifications.senders.base import CannotSend, Outcome, Outgoing
from notifications.senders.http_sender import HttpSender
from notifications.web_push import vapid

GONE_STATUS = (404, 410)


def push_payload(message: IncidentMessage) -> dict:
    return {
        "title": message.subject,
        "body": message.summary,
        "url": message.url,
        # The page the link opens, and where the notification's own "Acknowledge" button posts.
        "ack_url": message.ack_url or None,
        "ack_action_url": f"{message.ack_url}push/" if message.ack_url else None,
        "incident_id": message.incident_id,
        # One notification per incident on the device: a later step replaces, not stacks.
        "tag": f"incident-{message.incident_id}",
    }


class WebPushSender(HttpSender):
    with_ack_link = True

    def __init__(self, endpoint: str, keys: dict):
        self.endpoint = endpoint
        self.keys = keys

    @classmethod
    def for_contact(cls, contact, **_) -> WebPushSender:
        if not vapid.enabled():
            raise CannotSend("browser push is not configured on this deployment (WEB_PUSH_VAPID_PRIVATE_KEY)")
        return cls(contact.address, json.loads(contact_secret(contact)))

    def build(self, outgoing: Outgoing, message: IncidentMessage) -> Outgoing:
        data = json.dumps(push_payload(message), separators=(",", ":")).encode()
        encrypted = WebPusher({"endpoint": self.endpoint, "keys": dict(self.keys)}).encode(data, "aes128gcm")
        outgoing.url = self.endpoint
        outgoing.content = encrypted["body"]
        outgoing.headers = {
            "Authorization": vapid.authorization(self.endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(settings.WEB_PUSH_TTL_SECONDS),
            "Urgency": "high",
            "Topic": f"incident-{message.incident_id}",
        }
        return outgoing

    def transmit(self, outgoing: Outgoing) -> Outcome:
        outcome = super().transmit(outgoing)
        if outcome.status_code in GONE_STATUS:
            return Outcome(False, outcome.status_code, "the browser's subscription is gone", False)
        return outcome
