"""The person's notification settings: contact methods verified with a code, rules, masking."""

import re

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import ContactMethod, NotificationRule
from notifications.selectors import verification_code
from notifications.tasks import send_verification
from tests.ledger import entries

pytestmark = pytest.mark.django_db


def test_email_contact_is_verified_with_a_code(client_as, users):
    client = client_as("operator")
    response = client.post("/settings/notifications/", {"kind": "email", "address": "Me@Example.test"})
    assert response.status_code == 302
    contact = ContactMethod.objects.get(user=users["operator"])
    assert contact.address == "me@example.test" and not contact.is_verified
    # The code goes out after commit, through the task; run what the worker would.
    send_verification(contact.pk, contact.verification_nonce, None)
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert code == verification_code(contact)
    wrong = "000000" if code != "000000" else "111111"
    client.post(f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": wrong})
    contact.refresh_from_db()
    assert not contact.is_verified and contact.verification_attempts == 1
    client.post(f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": code})
    contact.refresh_from_db()
    assert contact.is_verified


def test_wrong_codes_are_limited(client_as, users):
    client = client_as("operator")
    client.post("/settings/notifications/", {"kind": "email", "address": "me@example.test"})
    contact = ContactMethod.objects.get(user=users["operator"])
    right = verification_code(contact)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        client.post(f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": wrong})
    client.post(f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": right})
    contact.refresh_from_db()
    assert not contact.is_verified


def test_rules_use_verified_contacts_only(client_as, users):
    client = client_as("operator")
    contact = ContactMethod.objects.create(user=users["operator"], kind="email", address="x@example.test")
    assert (
        client.post(
            "/settings/notifications/rules/", {"contact_method": contact.pk, "delay_minutes": 0}
        ).status_code
        == 400
    )
    contact.verified_at = timezone.now()
    contact.save()
    assert (
        client.post(
            "/settings/notifications/rules/", {"contact_method": contact.pk, "delay_minutes": 5}
        ).status_code
        == 302
    )
    assert NotificationRule.objects.get().delay_minutes == 5


def test_someone_elses_contact_method_is_not_found(client_as, users):
    contact = ContactMethod.objects.create(user=users["manager"], kind="email", address="m@example.test")
    assert (
        client_as("operator").post(f"/settings/notifications/contacts/{contact.pk}/delete/").status_code
        == 404
    )
    assert ContactMethod.objects.filter(pk=contact.pk).exists()
    assert not entries("contact_method.removed").exists()


def test_someone_elses_contact_method_and_rule_stay_untouched(client_as, users):
    contact = ContactMethod.objects.create(
        user=users["manager"], kind="sms", address="+4915112345678", verified_at=None
    )
    rule = NotificationRule.objects.create(user=users["manager"], contact_method=contact, delay_minutes=5)
    before = (
        ContactMethod.objects.values().get(pk=contact.pk),
        NotificationRule.objects.values().get(pk=rule.pk),
    )
    client = client_as("operator")
    for url, data in [
        (f"/settings/notifications/contacts/{contact.pk}/send-code/", {}),
        (f"/settings/notifications/contacts/{contact.pk}/verify/", {"code": "123456"}),
        (f"/settings/notifications/rules/{rule.pk}/delete/", {}),
    ]:
        assert client.post(url, data).status_code == 404, url
    after = (
        ContactMethod.objects.values().get(pk=contact.pk),
        NotificationRule.objects.values().get(pk=rule.pk),
    )
    assert after == before  # no code sent, no attempt counted, the rule kept
    assert not entries(prefix="contact_method.").exists()
    assert not entries(prefix="notification_rule.").exists()


def test_settings_page_never_shows_full_numbers(client_as, users):
    ContactMethod.objects.create(user=users["operator"], kind="sms", address="+4915112345678")
    html = client_as("operator").get("/settings/notifications/").content.decode()
    assert "+4915112345678" not in html and "+49…5678" in html
