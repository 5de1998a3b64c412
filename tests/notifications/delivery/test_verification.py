"""Sending the code that proves a new contact method: SMS through the organization's Twilio channel,
with the same Twilio sender that pages people."""

import pytest
from django.test import override_settings

from notifications.selectors import verification_code
from notifications.services.contacts import contact_method_add, contact_method_send_verification
from notifications.tasks import send_verification
from tests.notifications.factories import make_channel

TWILIO_SID = "AC" + "0123456789abcdef" * 2

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


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


def test_voice_verification_code_is_a_call_made_like_a_page(org, users, receiver, actor_as):
    with override_settings(TWILIO_API_BASE=f"http://127.0.0.1:{receiver.port}"):
        make_channel(
            org,
            kind="twilio_voice",
            account_sid=TWILIO_SID,
            auth_token="twilio-secret-token",
            from_number="+15005550006",
            recipients=["+4915100000000"],
        )
        actor = actor_as("operator")
        contact = contact_method_add(
            actor=actor, user=users["operator"], kind="voice", address="+4917611122233"
        ).contact
        contact = contact_method_send_verification(actor=actor, contact=contact, organization=org)
        assert send_verification(contact.pk, contact.verification_nonce, org.pk) is True
    [request] = receiver.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Calls.json"
    form = request.form()
    assert form["To"] == "+4917611122233" and form["From"] == "+15005550006"
    # Read out digit by digit, twice, like a page is.
    spoken = " ".join(verification_code(contact))
    assert form["Twiml"].count(f"Your OpsPlatform verification code is {spoken}.") == 2
    assert request.headers["authorization"].startswith("Basic ")
    key = f"verify-{contact.pk}-{contact.verification_nonce}"
    assert request.headers["i-twilio-idempotency-token"] == request.headers["x-opsplatform-delivery"] == key


def test_without_a_twilio_channel_no_code_goes_out(org, users, receiver, actor_as):
    actor = actor_as("operator")
    contact = contact_method_add(
        actor=actor, user=users["operator"], kind="sms", address="+4917611122233"
    ).contact
    contact = contact_method_send_verification(actor=actor, contact=contact, organization=org)
    assert send_verification(contact.pk, contact.verification_nonce, org.pk) is False
    assert send_verification(contact.pk, contact.verification_nonce, None) is False
    assert receiver.requests == []
