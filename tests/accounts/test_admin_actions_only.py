"""Invitations and API tokens in the admin: the list runs the service actions; a row's own page is
view-only, so its Save never writes the row behind the services' back."""

import pytest

from audit.models import LedgerEntry
from opsplatform.accounts import services
from opsplatform.accounts.models import ApiToken, Invitation
from opsplatform.core.actors import Actor


@pytest.fixture
def staff_owner(client, users):
    owner = users["owner"]
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    client.force_login(owner)
    return client


@pytest.fixture
def token(org, users):
    return services.api_token_create(actor=Actor.for_member(users["operator"], org), name="ci").token


@pytest.fixture
def invitation(org, users):
    actor = Actor.for_member(users["owner"], org)
    return services.invitation_create(actor=actor, email="new@example.com", role="operator").invitation


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["token", "invitation"])
def test_saving_a_rows_page_is_refused_and_writes_nothing(staff_owner, request, kind):
    obj = request.getfixturevalue(kind)
    url = f"/admin/accounts/{obj._meta.model_name}/{obj.pk}/change/"
    before = {f.name: getattr(obj, f.name) for f in obj._meta.fields}
    ledger_before = LedgerEntry.objects.count()

    page = staff_owner.get(url)
    saved = staff_owner.post(url, {"name": "renamed", "role": "owner", "email": "evil@example.com"})

    assert page.status_code == 200  # still viewable
    assert saved.status_code == 403
    obj.refresh_from_db()
    assert {f.name: getattr(obj, f.name) for f in obj._meta.fields} == before
    assert LedgerEntry.objects.count() == ledger_before


@pytest.mark.django_db
def test_the_list_actions_still_run_their_service(staff_owner, token, invitation):
    staff_owner.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    staff_owner.post(
        "/admin/accounts/invitation/", {"action": "revoke", "_selected_action": [invitation.pk]}, follow=True
    )

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=False).exists()
    assert Invitation.objects.get(pk=invitation.pk).status == "revoked"
    assert LedgerEntry.objects.filter(verb="api_token.revoked", target_id=str(token.pk)).exists()
    assert LedgerEntry.objects.filter(verb="invitation.revoked", target_id=str(invitation.pk)).exists()
