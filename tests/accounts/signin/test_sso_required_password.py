""" "SSO required": members' passwords are refused (after a right password only), owners keep theirs."""

import pytest

from opsplatform.core.capabilities import Role
from tests.accounts.factories import PASSWORD, MembershipFactory
from tests.ledger import entries

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("role", "allowed"), [(Role.VIEWER, False), (Role.ADMIN, False), (Role.OWNER, True)])
def test_password_refused_for_members_of_sso_required_organization(client, org, role, allowed):
    org.sso_required = True
    org.save()
    person = MembershipFactory(organization=org, role=role, user__username="person").user

    response = client.post("/accounts/login/", {"username": "person", "password": PASSWORD})

    if allowed:
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(person.pk)
        assert entries("auth.login", target=person).get().data["method"] == "password"
    else:
        assert response.status_code == 403 and b"Single sign-on required" in response.content
        assert client.session.get("_auth_user_id") is None
        assert entries("auth.login_refused", target=person).get().data["reason"] == "sso_required"


def test_wrong_password_does_not_reveal_the_policy(client, org):
    org.sso_required = True
    org.save()
    MembershipFactory(organization=org, role=Role.VIEWER, user__username="person")

    response = client.post("/accounts/login/", {"username": "person", "password": "wrong-password-1"})

    assert response.status_code == 200 and b"Sign-in failed" in response.content
    assert b"Single sign-on required" not in response.content
