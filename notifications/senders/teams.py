"""On-call and notifications: Microsoft Teams, through an incoming webhook (its URL is the
credential), as an Adaptive Card. No acknowledge link: the channel is a shared room."""

from __future__ import annotations

import re

from notifications.incident_message import IncidentMessage
from notifications.message import Message
from notifications.selectors import channel_secrets
from notifications.senders.base import Outgoing
from notifications.senders.http_sender import HttpSender, delivery_headers

# Adaptive Card text is markdown and Teams also renders some HTML (``<at>`` mentions among it): a
# title with ``[Acknowledge](https://…)`` would plant a link. Links, emphasis and code need one of
# these; lists and headings need a line start, which folding line breaks takes away.
_MARKDOWN = re.compile(r"([\\`*_\[\]()~])")


def escape_card_text(text: str) -> str:
    """``text`` shown as typed in an Adaptive Card TextBlock or fact: HTML's three characters as
    entities, line breaks folded, then every markdown character behind a backslash."""
    text = " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)


class TeamsSender(HttpSender):
    def __init__(self, url: str):
        self.url = url

    @classmethod
    def for_channel(cls, channel, **_) -> TeamsSender:
        return cls(channel_secrets(channel)["url"])

    def build(self, outgoing: Outgoing, message: IncidentMessage) -> Outgoing:
        actions = [{"type": "Action.OpenUrl", "title": "Open incident", "url": message.url}]
        if message.ack_url:
            actions.insert(0, {"type": "Action.OpenUrl", "title": "Acknowledge", "url": message.ack_url})
        actions += [
            {
                "type": "Action.OpenUrl",
                "title": f"{link.label}: {' '.join(link.title.split())}",
                "url": link.url,
            }
            for link in message.links
        ]
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
                    "text": f"{message.severity.upper()} #{message.incident_id} "
                    + escape_card_text(message.title),
                },
                {
                    "type": "FactSet",
                    "facts": [
                        {"title": "Status", "value": message.status},
                        {"title": "Service", "value": escape_card_text(message.service or "—")},
                        {
                            "title": "Escalation",
                            "value": f"step {message.step + 1}, round {message.cycle + 1}",
                        },
                    ],
                },
            ],
            "actions": actions,
        }
        return self._post(outgoing, message, card, message.summary)

    def build_message(self, outgoing: Outgoing, message: Message) -> Outgoing:
        blocks = [
            {
                "type": "TextBlock",
                "size": "Medium",
                "weight": "Bolder",
                "wrap": True,
                "text": escape_card_text(message.subject),
            }
        ]
        blocks += [
            {"type": "TextBlock", "wrap": True, "text": escape_card_text(line)} for line in message.lines
        ]
        if message.note:
            blocks.append(
                {"type": "TextBlock", "wrap": True, "isSubtle": True, "text": escape_card_text(message.note)}
            )
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": blocks,
            "actions": [
                {"type": "Action.OpenUrl", "title": link.label, "url": link.url} for link in message.links
            ],
        }
        return self._post(outgoing, message, card, message.subject)

    def _post(self, outgoing: Outgoing, message, card: dict, summary: str) -> Outgoing:
        body = {
            "type": "message",
            "summary": summary,
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }
        return self.json_request(outgoing, self.url, body, delivery_headers(message, outgoing.attempt))
