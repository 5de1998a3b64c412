"""The Microsoft Teams sender against a real HTTP peer on loopback."""

import pytest

from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.ticks import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


def test_teams_incoming_webhook(org, service, open_incident, receiver):
    channel = make_channel(org, kind="teams", url=receiver.url("/webhookb2/abc")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    incident, _ = page(open_incident)
    body = receiver.requests[0].json()
    card = body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert f"#{incident.pk}" in card["content"]["body"][0]["text"]


def test_the_title_cannot_plant_a_link_or_markup(org, service, open_incident, receiver):
    channel = make_channel(org, kind="teams", url=receiver.url("/webhookb2/abc")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    page(open_incident, title="[Acknowledge](https://evil.example/ack) **now** <at>everyone</at>")
    card = receiver.wait_for(1)[0].json()["attachments"][0]["content"]
    text = card["body"][0]["text"]
    # Adaptive Card text is markdown (and Teams renders some HTML): both are neutralized.
    assert r"\[Acknowledge\]\(https://evil.example/ack\) \*\*now\*\* &lt;at&gt;everyone&lt;/at&gt;" in text
    assert "[Acknowledge](" not in text and "<at>" not in text
