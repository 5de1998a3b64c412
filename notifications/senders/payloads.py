"""Request bodies per medium, and the webhook signature.

Webhook signature (documented for receivers in docs/webhooks.md)::

    X-OpsPlatform-Timestamp: <unix seconds>
    X-OpsPlatform-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
    X-OpsPlatform-Delivery:  <delivery id: the same on every retry of one notification>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.mail import EmailMessage

from notifications.messages import IncidentMessage
from notifications.senders.base import Outgoing

SIGNATURE_VERSION = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def delivery_headers(message: IncidentMessage, attempt: int) -> dict:
    return {
        "X-OpsPlatform-Delivery": message.delivery_key,
        "X-OpsPlatform-Attempt": str(attempt),
        "Idempotency-Key": message.delivery_key,
    }


def email(outgoing: Outgoing, message: IncidentMessage, recipients: list[str]) -> Outgoing:
    outgoing.email = EmailMessage(
        subject=message.subject,
        body=message.text(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"X-OpsPlatform-Delivery": message.delivery_key, "Auto-Submitted": "auto-generated"},
    )
    return outgoing


def slack(outgoing: Outgoing, message: IncidentMessage, url: str, mention: str = "") -> Outgoing:
    prefix = f"<@{mention}> " if mention else ""
    title = f"<{message.url}|#{message.incident_id} {_slack_escape(message.title)}>"
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": "Open incident"}, "url": message.url}
    ]
    if message.ack_url:
        buttons.insert(
            0,
            {
                "type": "button",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "url": message.ack_url,
            },
        )
    body = {
        "text": prefix + message.summary,
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{prefix}*{message.severity.upper()}* {title}"},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": _slack_escape(
                            f"{message.status} · {message.service or 'no service'} · "
                            f"step {message.step + 1}, round {message.cycle + 1}"
                        ),
                    }
                ],
            },
            {"type": "actions", "elements": buttons},
        ],
    }
    return _json(outgoing, url, body, delivery_headers(message, outgoing.attempt))


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams(outgoing: Outgoing, message: IncidentMessage, url: str) -> Outgoing:
    actions = [{"type": "Action.OpenUrl", "title": "Open incident", "url": message.url}]
    if message.ack_url:
        actions.insert(0, {"type": "Action.OpenUrl", "title": "Acknowledge", "url": message.ack_url})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "size": "Medium",
                "weight": "Bolder",
                "wrap": True,
                "text": f"{message.severity.upper()} #{message.incident_id} {message.title}",
            },
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Status", "value": message.status},
                    {"title": "Service", "value": message.service or "—"},
                    {"title": "Escalation", "value": f"step {message.step + 1}, round {message.cycle + 1}"},
                ],
            },
        ],
        "actions": actions,
    }
    body = {
        "type": "message",
        "summary": message.summary,
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
    }
    return _json(outgoing, url, body, delivery_headers(message, outgoing.attempt))


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


def webhook(
    outgoing: Outgoing, message: IncidentMessage, url: str, secret: str, recipient: str | None = None
) -> Outgoing:
    content = json.dumps(webhook_body(message, outgoing.attempt, recipient), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        **delivery_headers(message, outgoing.attempt),
        "Content-Type": "application/json",
        "X-OpsPlatform-Timestamp": str(timestamp),
    }
    if secret:
        headers["X-OpsPlatform-Signature"] = sign(secret, timestamp, content)
    outgoing.url, outgoing.content, outgoing.headers = url, content, headers
    return outgoing


def twilio(
    outgoing: Outgoing,
    *,
    voice: bool,
    account_sid: str,
    auth_token: str,
    from_number: str,
    to: str,
    text: str,
    delivery_key: str,
) -> Outgoing:
    """A text message (``text``) or a call that reads ``text`` out twice, through Twilio's REST API."""
    base = f"{settings.TWILIO_API_BASE}/2010-04-01/Accounts/{account_sid}"
    if voice:
        spoken = escape(text)
        twiml = f'<Response><Say>{spoken}</Say><Pause length="1"/><Say>{spoken}</Say></Response>'
        form = {"To": to, "From": from_number, "Twiml": twiml}
        url = f"{base}/Calls.json"
    else:
        form = {"To": to, "From": from_number, "Body": text}
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
    outgoing.auth = (account_sid, auth_token)
    return outgoing


def _json(outgoing: Outgoing, url: str, body: dict, headers: dict) -> Outgoing:
    outgoing.url = url
    outgoing.content = json.dumps(body).encode()
    outgoing.headers = {**headers, "Content-Type": "application/json"}
    return outgoing
