"""Senders say a generic message (not an incident page) in their medium's shape, to a real peer:
what higher layers (approvals, tasks) send through them. Teams here; the others are exercised
end to end by tests/workflows/test_notice_media.py."""

import pytest

from notifications.message import Link, Message
from notifications.senders import Outgoing, TeamsSender, send

pytestmark = pytest.mark.usefixtures("allow_loopback")

MESSAGE = Message(
    kind="workflow.approval_requested",
    subject="[Approval] #7 Rotate *all* keys\nnow",
    lines=("Your approval is requested: Rotate *all* keys", "0 of 2 approvals so far."),
    links=(Link("Open", "https://ops.example/workflows/runs/7/"), Link("Approve", "https://ops.example/a/")),
    delivery_key="approval:7:requested:3:email",
    note="Each link works once.",
)


def test_teams_card_for_a_generic_message(receiver):
    outgoing = TeamsSender(receiver.url("/teams")).prepare(
        Outgoing(notification_id=1, attempt=1, medium="teams"), MESSAGE
    )
    result = send(outgoing)

    assert result.ok
    (request,) = receiver.requests
    assert request.headers["x-opsplatform-delivery"] == "approval:7:requested:3:email"
    body = request.json()
    assert body["summary"] == "[Approval] #7 Rotate *all* keys now"
    card = body["attachments"][0]["content"]
    texts = [block["text"] for block in card["body"]]
    # Markdown in a title is shown as typed, never as emphasis or a link.
    assert texts[0] == r"\[Approval\] #7 Rotate \*all\* keys now"
    assert texts[1:] == [
        r"Your approval is requested: Rotate \*all\* keys",
        "0 of 2 approvals so far.",
        "Each link works once.",
    ]
    assert [(a["title"], a["url"]) for a in card["actions"]] == [
        ("Open", "https://ops.example/workflows/runs/7/"),
        ("Approve", "https://ops.example/a/"),
    ]


def test_plain_text_of_a_generic_message():
    assert MESSAGE.text().splitlines() == [
        "Your approval is requested: Rotate *all* keys",
        "0 of 2 approvals so far.",
        "",
        "Open: https://ops.example/workflows/runs/7/",
        "Approve: https://ops.example/a/",
        "",
        "Each link works once.",
    ]
    assert MESSAGE.short_text() == "[Approval] #7 Rotate *all* keys now https://ops.example/workflows/runs/7/"
