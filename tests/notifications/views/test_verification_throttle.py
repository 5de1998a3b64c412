"""Verification codes are limited per person and per organization per hour: adding, deleting and
re-adding a phone number cannot run up the organization's Twilio bill. Over the limit is a form
error, nothing is stored and nothing is sent."""

import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from audit.models import LedgerEntry
from notifications.models import ContactMethod
from notifications.tasks import send_verification
from tests.notifications.factories import make_channel

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


@pytest.fixture
def twilio(org, receiver):
    """A Twilio SMS channel pointing at the loopback stand-in, and counters no other test shares."""
    cache = {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    with override_settings(
        TWILIO_API_BASE=f"http://127.0.0.1:{receiver.port}",
        CACHES={"default": cache},
        NOTIFICATION_VERIFICATIONS_PER_USER_HOUR=3,
        NOTIFICATION_VERIFICATIONS_PER_ORGANIZATION_HOUR=4,
    ):
        make_channel(
            org,
            kind="twilio_sms",
            account_sid="AC" + "0123456789abcdef" * 2,
            auth_token="twilio-secret-token",
            from_number="+15005550006",
            recipients=["+4915100000000"],
        )
        yield receiver


def add_and_delete(client, user, number="+4917611122233"):
    """Add an SMS contact method (the worker then sends its code), delete it: the response to the add."""
    response = client.post("/settings/notifications/", {"kind": "sms", "address": number})
    contact = ContactMethod.objects.filter(user=user).first()
    if contact is not None:
        # What the worker does with the task the add enqueued after commit.
        send_verification(contact.pk, contact.verification_nonce, user.memberships.get().organization_id)
        client.post(f"/settings/notifications/contacts/{contact.pk}/delete/")
    return response


def test_a_person_gets_so_many_codes_an_hour(client_as, users, twilio):
    client = client_as("operator")
    operator = users["operator"]
    statuses = [add_and_delete(client, operator).status_code for _ in range(3)]
    refused = add_and_delete(client, operator)
    assert statuses == [302, 302, 302]
    assert refused.status_code == 400
    assert "Too many verification codes" in str(refused.context["form"].errors)
    assert not ContactMethod.objects.filter(user=operator).exists()
    assert len(twilio.requests) == 3
    sent = LedgerEntry.objects.filter(verb="contact_method.verification_sent")
    assert sent.count() == 3


def test_an_organization_gets_so_many_codes_an_hour(client_as, users, twilio):
    first = client_as("operator")
    for _ in range(3):
        assert add_and_delete(first, users["operator"]).status_code == 302
    second = client_as("manager")
    assert add_and_delete(second, users["manager"], "+4917611122244").status_code == 302
    refused = add_and_delete(second, users["manager"], "+4917611122244")
    assert refused.status_code == 400
    assert "organization" in str(refused.context["form"].errors)
    assert len(twilio.requests) == 4
    assert not ContactMethod.objects.filter(user=users["manager"]).exists()
