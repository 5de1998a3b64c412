"""On-call and notifications: Slack, through an incoming webhook (its URL is the credential).

An organization's Slack channel posts the incident; a person's Slack contact method is a mention
(``<@U…>``) posted through the organization's Slack channel, a room others read too, so that
message's acknowledge link names nobody and whoever follows it signs in.
"""

from __future__ import annotations

from notifications.incident_message import IncidentMessage
from notifications.message import Message
from notifications.selectors import channel_secrets
from notifications.senders.base import Outgoing
from notifications.senders.http_sender import HttpSender, delivery_headers


def _escape(text: str) -> str:
    """Slack's mrkdwn control sequences (``<!channel>``, ``<@U…>``, ``<url|label>``) all need ``<``;
    escaping its three characters turns anything a title carries into plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackSender(HttpSender):
    with_ack_link = True

    def __init__(self, url: str, mention: str = ""):
        self.url = url
        self.mention = mention
        self.shared_room = bool(mention)

    @classmethod
    def for_channel(cls, channel, *, mention: str = "", **_) -> SlackSender:
        return cls(channel_secrets(channel)["url"], mention=mention)

    def build(self, outgoing: Outgoing, message: IncidentMessage) -> Outgoing:
        prefix = f"<@{self.mention}> " if self.mention else ""
        title = f"<{message.url}|#{message.incident_id} {_escape(message.title)}>"
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
        for link in message.links:
            # Slack caps a button's text at 75 characters.
            label = f"{link.label}: {' '.join(link.title.split())}"
            buttons.append(
                {"type": "button", "text": {"type": "plain_text", "text": label[:75]}, "url": link.url}
            )
        body = {
            # The notification text is parsed as mrkdwn too (it is what the push notification shows).
            "text": prefix + _escape(message.summary),
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
                            "text": _escape(
                                f"{message.status} · {message.service or 'no service'} · "
                                f"step {message.step + 1}, round {message.cycle + 1}"
                            ),
                        }
                    ],
                },
                *(
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": f"{link.label}: <{link.url}|{_escape(link.title)}>",
                        },
                    }
                    for link in message.links
                ),
                {"type": "actions", "elements": buttons},
            ],
        }
        return self.json_request(outgoing, self.url, body, delivery_headers(message, outgoing.attempt))

    def build_message(self, outgoing: Outgoing, message: Message) -> Outgoing:
        # Links that act (approve, reject) name their person and ask them to sign in and confirm, so
        # a mention in a shared room can carry them: whoever else follows one cannot use it.
        prefix = f"<@{self.mention}> " if self.mention else ""
        title = f"<{message.url}|{_escape(message.subject)}>" if message.url else _escape(message.subject)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"{prefix}*{title}*"}}]
        if message.lines:
            text = "\n".join(_escape(line) for line in message.lines)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}})
        if message.links:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": link.label},
                            "url": link.url,
                        }
                        for link in message.links[:5]
                    ],
                }
            )
        if message.note:
            blocks.append(
                {"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(message.note)}]}
            )
        body = {"text": prefix + _escape(message.subject), "blocks": blocks}
        return self.json_request(outgoing, self.url, body, delivery_headers(message, outgoing.attempt))
