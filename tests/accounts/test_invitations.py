"""The invitation page: accept as a signed-in person, or sign up with the invited address."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import LedgerEntry
from opsplatform.accounts import services
from opsplatform.accounts.models import Invitation, Membership, User
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "plum-orchard-lantern-42"


@pytest.fixture
def invite(org, users):
    def make(email="newcomer@example.test", role=Role.OPERATOR):
        return services.invitation_create(actor=Actor.for_member(users["owner"], org), email=email, role=role)

    return make


def sign_up(client, issued, **overrides):
    data = {
        "username": "newcomer",
        "display_name": "New Comer",
        "password1": GOOD_PASSWORD,
        "password2": GOOD_PASSWORD,
    }
    return client.post(issued.path, {**data, **overrides})


def test_page_shows_organization_role_and_sign_up_to_visitors(client, invite):
    issued = invite()

    response = client.get(issued.path)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Join Acme" in content
    assert "operator" in content
    assert "newcomer@example.test" in content
    assert f"/accounts/login/?next=%2Finvitations%2F{issued.token}%2F" in content
    assert 'name="password1"' in content


@pytest.mark.parametrize("state", ["unknown", "expired", "revoked", "accepted"])
def test_unusable_invitations_get_a_friendly_404(client, org, users, invite, state):
    issued = invite()
    invitation = issued.invitation
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "revoked":
        services.invitation_revoke(actor=Actor.for_member(users["owner"], org), invitation=invitation)
    elif state == "accepted":
        services.invitation_accept(token=issued.token, user=UserFactory(email="newcomer@example.test"))
    path = "/invitations/not-a-real-token/" if state == "unknown" else issued.path

    response = client.get(path)
    posted = client.post(path, {"username": "x"})

    assert response.status_code == 404
    assert b"This invitation cannot be used" in response.content
    assert posted.status_code == 404


def test_sign_up_creates_the_account_joins_and_signs_in(client, org, invite):
    issued = invite(role=Role.MANAGER)

    response = sign_up(client, issued)

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="newcomer")
    assert user.email == "newcomer@example.test"
    assert user.display_name == "New Comer"
    assert user.check_password(GOOD_PASSWORD)
    assert Membership.objects.get(organization=org, user=user).role == Role.MANAGER
    issued.invitation.refresh_from_db()
    assert issued.invitation.accepted_by == user
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session["organization_id"] == org.pk
    assert LedgerEntry.objects.filter(
        verb="user.registered", organization=None, target_id=str(user.pk)
    ).exists()
    assert LedgerEntry.objects.filter(verb="invitation.accepted", organization=org).exists()
    assert LedgerEntry.objects.filter(verb="auth.login", organization=None, target_id=str(user.pk)).exists()
    assert b"Acme" in client.get("/").content


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password1": "short", "password2": "short"}, "This password is too short"),
        ({"password1": "newcomer-1", "password2": "newcomer-1"}, "too similar"),
        ({"password2": "something-else-entirely"}, "The two passwords differ."),
        ({"username": "owner"}, "This username is taken."),
        ({"username": "has spaces!"}, "Enter a valid username."),
        ({"username": ""}, "This field is required."),
    ],
)
def test_sign_up_errors_are_form_errors(client, users, invite, overrides, message):
    issued = invite()

    response = sign_up(client, issued, **overrides)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(email="newcomer@example.test").exists()
    issued.invitation.refresh_from_db()
    assert issued.invitation.status == "pending"


def test_sign_up_is_refused_when_the_address_already_has_an_account(client, invite):
    UserFactory(username="existing", email="newcomer@example.test")
    issued = invite()

    response = sign_up(client, issued)

    assert response.status_code == 200
    assert "log in to accept" in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()


def test_signed_in_invitee_accepts(client, org, other_org, invite):
    person = UserFactory(email="newcomer@example.test")
    Membership.objects.create(organization=other_org, user=person, role=Role.OWNER)
    issued = invite(role=Role.VIEWER)
    client.force_login(person)

    page = client.get(issued.path)
    assert b"Accept invitation" in page.content
    response = client.post(issued.path)

    assert response.status_code == 302
    assert Membership.objects.get(organization=org, user=person).role == Role.VIEWER
    assert client.session["organization_id"] == org.pk
    assert LedgerEntry.objects.filter(verb="invitation.accepted", organization=org).count() == 1


def test_signed_in_person_with_another_address_cannot_accept(client, org, users, invite):
    issued = invite()
    client.force_login(UserFactory(email="someone-else@example.test"))

    response = client.post(issued.path)

    assert response.status_code == 200
    assert "This invitation was sent to another e-mail address." in response.content.decode()
    assert not Membership.objects.filter(organization=org, user__email="someone-else@example.test").exists()
    issued.invitation.refresh_from_db()
    assert issued.invitation.status == "pending"


def test_accepting_when_already_a_member_is_an_error_not_a_500(client, org, invite):
    person = UserFactory(email="latecomer@example.test")
    issued = invite(email="latecomer@example.test")
    # They joined through another invitation in the meantime.
    Membership.objects.create(organization=org, user=person, role=Role.VIEWER)
    client.force_login(person)

    response = client.post(issued.path)

    assert response.status_code == 200
    assert "You are already a member of this organization." in response.content.decode()
    issued.invitation.refresh_from_db()
    assert issued.invitation.status == "pending"


def test_invited_owner_of_a_policy_organization_must_enroll_first(client, org, invite):
    org.require_2fa_for_admins = True
    org.save(update_fields=["require_2fa_for_admins"])
    issued = invite(role=Role.ADMIN)

    sign_up(client, issued)
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/setup/")
