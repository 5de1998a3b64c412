"""Every sender against a real peer on loopback: SMTP (aiosmtpd), Slack, Teams, the signed webhook
(verified like a receiver would), Twilio SMS and voice. Secrets stay encrypted and out of logs."""

import json
import logging
import socket
from datetime import timedelta
from email import message_from_bytes
from urllib.parse import urlsplit

import pytest
from django.test import override_settings
from django.utils import timezone

from audit.models import LedgerEntry
from notifications.delivery import run_delivery_tick
from notifications.escalation import run_escalation_tick
from notifications.ack_links import read_ack_token
from notifications.models import (
    ContactKind,
    ContactMethod,
    Notification,
    NotificationRule,
    NotificationStatus,
)
from notifications.selectors import verification_code
from notifications.services.contacts import contact_method_add, contact_method_send_verification
from notifications.tasks import send_verification
from opsplatform.core import http
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.peers import verify_signature

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]

TWILIO_SID = "AC" + "0123456789abcdef" * 2


def page(open_incident, **kwargs):
    incident = open_incident(**kwargs)
    now = timezone.now()
    run_escalation_tick(now=now)
    stats = run_delivery_tick(now=now)
    return incident, stats


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


def test_teams_incoming_webhook(org, service, open_incident, receiver):
    channel = make_channel(org, kind="teams", url=receiver.url("/webhookb2/abc")).channel
    make_policy(org, step(("channel", channel)), services=[service])
    incident, _ = page(open_incident)
    body = receiver.requests[0].json()
    card = body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert f"#{incident.pk}" in card["content"]["body"][0]["text"]


def test_webhook_is_signed_and_the_receiver_can_verify_it(org, service, open_incident, receiver):
    issued = make_channel(org, kind="webhook", url=receiver.url("/opsplatform"))
    assert issued.signing_secret.startswith("whsec_")
    make_policy(org, step(("channel", issued.channel)), services=[service])
    incident, _ = page(open_incident)
    request = receiver.requests[0]
    assert verify_signature(issued.signing_secret, request.headers, request.body)
    assert not verify_signature("whsec_wrong", request.headers, request.body)
    tampered = request.body.replace(b"Checkout", b"Checkin")
    assert not verify_signature(issued.signing_secret, request.headers, tampered)
    body = request.json()
    assert body["type"] == "incident.notification"
    assert body["incident"]["id"] == incident.pk
    row = Notification.objects.get()
    assert request.headers["x-opsplatform-delivery"] == row.idempotency_key == body["delivery_id"]
    assert request.headers["idempotency-key"] == row.idempotency_key


@pytest.mark.parametrize(
    ("kind", "endpoint"), [("twilio_sms", "Messages.json"), ("twilio_voice", "Calls.json")]
)
def test_twilio_with_the_organizations_own_account(org, service, open_incident, receiver, kind, endpoint):
    with override_settings(TWILIO_API_BASE=f"http://127.0.0.1:{receiver.port}"):
        channel = make_channel(
            org,
            kind=kind,
            account_sid=TWILIO_SID,
            auth_token="twilio-secret-token",
            from_number="+15005550006",
            recipients=["+4915112345678", "+14155550123"],
        ).channel
        make_policy(org, step(("channel", channel)), services=[service])
        incident, stats = page(open_incident)
    assert stats.sent == 2  # one request per number
    paths = {r.path for r in receiver.requests}
    assert paths == {f"/2010-04-01/Accounts/{TWILIO_SID}/{endpoint}"}
    forms = [r.form() for r in receiver.requests]
    assert sorted(f["To"] for f in forms) == ["+14155550123", "+4915112345678"]
    assert {f["From"] for f in forms} == {"+15005550006"}
    if kind == "twilio_sms":
        assert f"#{incident.pk}" in forms[0]["Body"]
    else:
        assert forms[0]["Twiml"].startswith("<Response><Say>")
    request = receiver.requests[0]
    assert request.headers["authorization"].startswith("Basic ")
    assert request.headers["i-twilio-idempotency-token"]


def test_personal_sms_goes_through_the_twilio_channel(org, users, service, open_incident, receiver):
    with override_settings(TWILIO_API_BASE=f"http://127.0.0.1:{receiver.port}"):
        make_channel(
            org,
            kind="twilio_sms",
            account_sid=TWILIO_SID,
            auth_token="twilio-secret-token",
            from_number="+15005550006",
            recipients=["+4915100000000"],
        )
        operator = users["operator"]
        contact = ContactMethod.objects.create(
            user=operator, kind=ContactKind.SMS, address="+4917612345678", verified_at=timezone.now()
        )
        NotificationRule.objects.create(user=operator, contact_method=contact)
        make_policy(org, step(("user", operator)), services=[service])
        page(open_incident)
    assert [r.form()["To"] for r in receiver.requests] == ["+4917612345678"]


def test_unverified_contact_methods_are_not_used(org, users, service, open_incident, smtp):
    operator = users["operator"]
    contact = ContactMethod.objects.create(user=operator, kind=ContactKind.EMAIL, address="typo@example.test")
    NotificationRule.objects.create(user=operator, contact_method=contact)
    make_policy(org, step(("user", operator)), services=[service])
    page(open_incident)
    # Falls back to the account address: never the unproven one.
    assert [e.rcpt_tos for e in smtp] == [[operator.email]]


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


def test_refused_destination_is_dead_lettered_at_once(org, service, open_incident, monkeypatch):
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=[]):
        channel = make_channel(org, kind="webhook", url="http://internal.example.test/hook").channel
        make_policy(org, step(("channel", channel)), services=[service])
        monkeypatch.setattr(http, "_resolve", lambda host, port: [(socket.AF_INET, ("10.0.0.9", port))])
        _, stats = page(open_incident)
    row = Notification.objects.get()
    assert (stats.dead, row.status, row.attempts) == (1, NotificationStatus.DEAD, 1)
    assert "non-public address" in row.last_error


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


def test_sms_verification_code_goes_through_the_twilio_channel(org, users, receiver, actor_as):
    with override_settings(TWILIO_API_BASE=f"http://127.0.0.1:{receiver.port}"):
        make_channel(
            org,
            kind="twilio_sms",
            account_sid=TWILIO_SID,
            auth_token="twilio-secret-token",
            from_number="+15005550006",
            recipients=["+4915100000000"],
        )
        actor = actor_as("operator")
        contact = contact_method_add(
            actor=actor, user=users["operator"], kind="sms", address="+4917611122233"
        ).contact
        contact = contact_method_send_verification(actor=actor, contact=contact, organization=org)
        assert send_verification(contact.pk, contact.verification_nonce, org.pk) is True
        # A stale request (an older nonce) sends nothing.
        assert send_verification(contact.pk, "stale", org.pk) is False
    form = receiver.requests[0].form()
    assert form["To"] == "+4917611122233"
    assert verification_code(contact) in form["Body"]
    assert len(receiver.requests) == 1
