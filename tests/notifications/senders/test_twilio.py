"""The Twilio sender against a real HTTP peer on loopback: an organization's SMS and voice channels
with its own account, and a person's SMS contact method through them."""

import pytest
from django.test import override_settings
from django.utils import timezone

from notifications.models import ContactKind, ContactMethod, NotificationRule
from tests.notifications.factories import make_channel, make_policy, step
from tests.notifications.ticks import page

TWILIO_SID = "AC" + "0123456789abcdef" * 2

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


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
