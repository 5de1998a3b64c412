"""The Slack sender against a real HTTP peer on loopback: the organization's incoming webhook, a
person's mention through it, and the acknowledge link the message carries."""

import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from notifications.ack_links import read_ack_token
from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.models import ContactKind, ContactMethod, Notification, NotificationRule
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.ticks import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


def test_slack_incoming_webhook(org, service, open_incident, receiver):
    channel = make_channel(org, kind="slack", url=receiver.url("/services/T000/B000/secretpath")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    incident, stats = page(open_incident)
    assert stats.sent == 1
    request = receiver.requests[0]
    assert request.path == "/services/T000/B000/secretpath"
    body = request.json()
    assert f"#{incident.pk}" in body["blocks"][0]["text"]["text"]
    buttons = body["blocks"][2]["elements"]
    assert buttons[0]["text"]["text"] == "Acknowledge" and "/ack/" in buttons[0]["url"]


def test_slack_user_is_mentioned_through_the_organizations_slack_channel(
    org, users, service, open_incident, receiver
):
    make_channel(org, kind="slack", name="Slack", url=receiver.url("/slack"))
    operator = users["operator"]
    contact = ContactMethod.objects.create(
        user=operator, kind=ContactKind.SLACK, address="U0123ABCD", verified_at=timezone.now()
    )
    NotificationRule.objects.create(user=operator, contact_method=contact)
    make_policy(org, step(("user", operator)), services=[service])
    page(open_incident)
    body = receiver.requests[0].json()
    assert body["text"].startswith("<@U0123ABCD> ")
    # Posted in a room others read: the acknowledge link must not act as the mentioned person.
    ack_url = body["blocks"][2]["elements"][0]["url"]
    claim = read_ack_token(ack_url.rstrip("/").rsplit("/", 1)[-1])
    assert claim is not None and claim.user_id is None


def test_ack_link_in_the_message_works(client, org, users, service, open_incident, receiver):
    channel = make_channel(org, kind="slack", url=receiver.url("/slack")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    incident, _ = page(open_incident)
    ack_url = receiver.requests[0].json()["blocks"][2]["elements"][0]["url"]
    path = urlsplit(ack_url).path
    # A channel's link names nobody: the person following it signs in first.
    assert client.get(path).status_code == 302
    client.force_login(users["operator"])
    assert b"Acknowledge #" in client.get(path).content
    assert client.post(path).status_code == 200
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.acknowledged_by == users["operator"]


def test_secrets_are_encrypted_at_rest_and_never_logged(org, service, open_incident, receiver, caplog):
    secret_path = "/services/T0SECRET/B0SECRET/xoxsecretvalue"
    channel = make_channel(org, kind="slack", url=receiver.url(secret_path)).channel
    stored = (
        type(channel).objects.values_list("secrets_encrypted", "secret_hint", "config").get(pk=channel.pk)
    )
    assert "xoxsecretvalue" not in json.dumps(stored)
    assert stored[1] == "http://127.0.0.1/…"
    make_policy(org, step(("channel", channel)), services=[service])
    receiver.respond_with(500, then=200)
    with caplog.at_level(logging.DEBUG):
        incident = open_incident()
        now = timezone.now()
        run_escalation_tick(now=now)
        run_delivery_tick(now=now)
        run_delivery_tick(now=now + timedelta(hours=1))
    assert "xoxsecretvalue" not in caplog.text
    ledger = LedgerEntry.objects.filter(target_id=str(incident.pk)).values_list("data", flat=True)
    assert "xoxsecretvalue" not in json.dumps(list(ledger))
    assert all("xoxsecretvalue" not in n.last_error for n in Notification.objects.all())


HOSTILE = "<!channel> db down <https://evil.example/ack|Acknowledge> & more"


def test_the_title_cannot_ping_the_room_or_plant_a_link(org, service, open_incident, receiver):
    channel = make_channel(org, kind="slack", url=receiver.url("/slack")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    page(open_incident, title=HOSTILE)
    body = receiver.wait_for(1)[0].json()
    escaped = "&lt;!channel&gt; db down &lt;https://evil.example/ack|Acknowledge&gt; &amp; more"
    # Both the notification text and the block are mrkdwn: neither may carry a control sequence.
    for text in (body["text"], body["blocks"][0]["text"]["text"]):
        assert escaped in text
        assert "<!channel>" not in text and "<https://evil.example" not in text
