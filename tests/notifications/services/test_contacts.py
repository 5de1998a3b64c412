"""Contact method services: verification codes, ownership, and the platform chain."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import LedgerEntry
from notifications.models import ContactMethod
from notifications.selectors import verification_code
from notifications.services import contacts as contact_services

pytestmark = pytest.mark.django_db


def test_verification_codes_are_rate_limited_and_renewed(actor_as, users, org):
    issued = contact_services.contact_method_add(
        actor=actor_as("operator"), user=users["operator"], kind="email", address="a@example.test"
    )
    contact = contact_services.contact_method_send_verification(
        actor=actor_as("operator"), contact=issued.contact
    )
    first = verification_code(contact)
    with pytest.raises(ValidationError, match="less than a minute"):
        contact_services.contact_method_send_verification(actor=actor_as("operator"), contact=contact)
    ContactMethod.objects.filter(pk=contact.pk).update(
        verification_sent_at=timezone.now() - timezone.timedelta(minutes=2)
    )
    old_nonce = contact.verification_nonce
    contact = contact_services.contact_method_send_verification(actor=actor_as("operator"), contact=contact)
    assert contact.verification_nonce != old_nonce
    with pytest.raises(ValidationError):
        contact_services.contact_method_verify(actor=actor_as("operator"), contact=contact, code=first)


def test_only_the_owner_changes_contact_methods(actor_as, users):
    with pytest.raises(PermissionDenied):
        contact_services.contact_method_add(
            actor=actor_as("admin"), user=users["operator"], kind="email", address="x@example.test"
        )


def test_personal_changes_go_on_the_platform_chain_masked(actor_as, users):
    contact_services.contact_method_add(
        actor=actor_as("operator"), user=users["operator"], kind="sms", address="+4915112345678"
    )
    entry = LedgerEntry.objects.get(verb="contact_method.added")
    assert entry.organization_id is None
    assert entry.data["address"] == "+49…5678"
