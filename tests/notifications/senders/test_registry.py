"""One sender per medium behind one interface (``notifications.senders``): every channel kind and
contact kind has its sender, each sender opens the secrets it needs itself, and preparing a request
touches no database (the delivery worker prepares rows in its main thread, sends from a pool)."""

import pytest
from django.utils import timezone

from notifications.incident_message import IncidentMessage
from notifications.models import ChannelKind, ContactKind, ContactMethod
from notifications.senders import (
    CARRIER_KINDS,
    CHANNEL_SENDERS,
    CannotSend,
    EmailSender,
    Outgoing,
    Sender,
    SlackSender,
    TeamsSender,
    TwilioSender,
    WebhookSender,
    for_channel,
    for_contact,
)
from notifications.services.contacts import contact_method_add
from tests.notifications.factories import make_channel

pytestmark = pytest.mark.django_db

TWILIO = {"account_sid": "AC" + "0" * 32, "auth_token": "tok-secret", "from_number": "+15005550006"}

MESSAGE = IncidentMessage(
    incident_id=7,
    title="Checkout errors",
    status="Triggered",
    severity="sev1",
    service="Payments API",
    team="Payments",
    organization="Acme",
    url="https://ops.example.test/incidents/7/",
    ack_url="https://ops.example.test/ack/token/",
    step=0,
    cycle=0,
    notification_id=3,
    delivery_key="k" * 64,
)


def test_every_channel_kind_and_carried_contact_kind_has_a_sender():
    assert set(CHANNEL_SENDERS) == set(ChannelKind)
    assert all(issubclass(cls, Sender) for cls in CHANNEL_SENDERS.values())
    assert set(CARRIER_KINDS) == {ContactKind.SLACK, ContactKind.SMS, ContactKind.VOICE}


@pytest.mark.parametrize(
    ("kind", "fields", "cls"),
    [
        ("email", {"recipients": ["ops@example.test"]}, EmailSender),
        ("slack", {"url": "https://hooks.slack.com/services/T/B/slacksecret"}, SlackSender),
        ("teams", {"url": "https://example.webhook.office.com/teamssecret"}, TeamsSender),
        ("webhook", {"url": "https://hooks.example.com/hooksecret"}, WebhookSender),
        ("twilio_sms", {**TWILIO, "recipients": ["+4915112345678"]}, TwilioSender),
        ("twilio_voice", {**TWILIO, "recipients": ["+4915112345678"]}, TwilioSender),
    ],
)
def test_a_channel_gets_the_sender_of_its_kind_with_its_secrets(
    org, kind, fields, cls, django_assert_num_queries
):
    issued = make_channel(org, kind=kind, **fields)
    sender = for_channel(issued.channel, to="+4915112345678")
    assert type(sender) is cls
    if "url" in fields:
        assert sender.url == fields["url"]
    if kind == "webhook":
        assert sender.secret == issued.signing_secret and not sender.with_ack_link
    if cls is TwilioSender:
        assert (sender.auth_token, sender.voice) == ("tok-secret", kind == "twilio_voice")
    outgoing = Outgoing(notification_id=3, attempt=1, medium=kind)
    with django_assert_num_queries(0):
        prepared = sender.prepare(outgoing, MESSAGE)
    assert prepared.sender is sender and not prepared.error
    assert prepared.email is not None or prepared.url.startswith(("https://", "http://"))


def test_a_contact_gets_its_sender_through_the_carrier_it_needs(org, users, actor_as):
    actor, operator = actor_as("operator"), users["operator"]
    email = ContactMethod.objects.create(user=operator, kind="email", address="o@example.test")
    sender = for_contact(email, carrier=None, recipient="operator")
    assert type(sender) is EmailSender and sender.recipients == ["o@example.test"]

    issued = contact_method_add(
        actor=actor, user=operator, kind="webhook", address="https://me.example.com/h"
    )
    sender = for_contact(issued.contact, carrier=None, recipient="operator")
    assert type(sender) is WebhookSender and sender.secret == issued.signing_secret
    assert sender.recipient == "operator" and sender.with_ack_link  # a person's own endpoint

    slack = ContactMethod.objects.create(
        user=operator, kind="slack", address="U0123ABCD", verified_at=timezone.now()
    )
    with pytest.raises(CannotSend, match="no active Slack channel"):
        for_contact(slack, carrier=None, recipient="operator")
    room = make_channel(org, kind="slack", url="https://hooks.slack.com/services/T/B/x").channel
    sender = for_contact(slack, carrier=room, recipient="operator")
    assert type(sender) is SlackSender and sender.mention == "U0123ABCD" and sender.shared_room

    twilio = make_channel(org, kind="twilio_sms", recipients=["+4915100000000"], **TWILIO).channel
    for kind in ("sms", "voice"):
        phone = ContactMethod.objects.create(user=operator, kind=kind, address="+4917612345678")
        with pytest.raises(CannotSend, match="no active Twilio channel"):
            for_contact(phone, carrier=None, recipient="operator")
        sender = for_contact(phone, carrier=twilio, recipient="operator")
        assert type(sender) is TwilioSender
        assert (sender.to, sender.voice, sender.auth_token) == (
            "+4917612345678",
            kind == "voice",
            "tok-secret",
        )
