"""The e-mail sender against a real SMTP server on loopback (aiosmtpd): organization channels,
personal e-mail rules, and the account address as the fallback."""

from email import message_from_bytes

import pytest
from django.utils import timezone

from notifications.models import ContactKind, ContactMethod, NotificationRule
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.ticks import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


def test_email_channel_through_a_real_smtp_server(org, service, open_incident, smtp):
    channel = make_channel(org, kind="email", recipients=["oncall@example.test", "lead@example.test"]).channel
    make_policy(org, step(("channel", channel)), services=[service])
    incident, stats = page(open_incident)
    assert stats.sent == 1
    envelope = smtp[0]
    assert sorted(envelope.rcpt_tos) == ["lead@example.test", "oncall@example.test"]
    message = message_from_bytes(envelope.content)
    assert f"#{incident.pk}" in message["Subject"]
    body = message.get_payload(decode=True).decode()
    assert f"/incidents/{incident.pk}/" in body
    assert "/ack/" in body  # e-mail carries the one-click acknowledge link


def test_personal_email_rule(org, users, team, service, open_incident, smtp):
    operator = users["operator"]
    contact = ContactMethod.objects.create(
        user=operator, kind=ContactKind.EMAIL, address="pager@example.test", verified_at=timezone.now()
    )
    NotificationRule.objects.create(user=operator, contact_method=contact, delay_minutes=0)
    make_policy(org, step(("user", operator)), services=[service])
    page(open_incident)
    assert [e.rcpt_tos for e in smtp] == [["pager@example.test"]]


def test_unverified_contact_methods_are_not_used(org, users, service, open_incident, smtp):
    operator = users["operator"]
    contact = ContactMethod.objects.create(user=operator, kind=ContactKind.EMAIL, address="typo@example.test")
    NotificationRule.objects.create(user=operator, contact_method=contact)
    make_policy(org, step(("user", operator)), services=[service])
    page(open_incident)
    # Falls back to the account address: never the unproven one.
    assert [e.rcpt_tos for e in smtp] == [[operator.email]]
