"""The dashboard and the organization switcher."""

import pytest

from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


# --- dashboard ---------------------------------------------------------------------------------


def test_member_without_organization_gets_a_dashboard_and_no_settings(client, db):
    loner = UserFactory()
    client.force_login(loner)

    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert b"not a member of any organization" in dashboard.content
    assert client.get("/settings/members/")["Location"] == "/"
    assert client.get("/settings/profile/").status_code == 200


def test_dashboard_shows_organization_and_counts(client_as, team):
    response = client_as("operator").get("/")

    content = response.content.decode()
    assert "Acme" in content
    assert "<strong>1</strong> team" in content
    assert "<strong>5</strong> members" in content


@pytest.mark.parametrize(("role", "shown"), [("manager", True), ("operator", False)])
def test_dashboard_links_audit_log_only_for_those_who_may_see_it(client_as, role, shown):
    response = client_as(role).get("/")

    assert (b"Open the audit log" in response.content) is shown


# --- organization switcher ----------------------------------------------------------------------


def test_switching_to_an_own_organization(client, org, other_org, users):
    user = users["operator"]
    MembershipFactory(organization=other_org, user=user, role=Role.VIEWER)
    client.force_login(user)

    response = client.post("/organizations/switch/", {"organization": other_org.pk})

    assert response.status_code == 302
    assert client.session["organization_id"] == other_org.pk
    assert b"Globex" in client.get("/").content


@pytest.mark.parametrize("value", ["foreign", "999999", "not-a-number", ""])
def test_switching_to_an_organization_one_does_not_belong_to_is_404(client_as, other_org, value):
    client = client_as("owner")
    wanted = other_org.pk if value == "foreign" else value

    response = client.post("/organizations/switch/", {"organization": wanted})

    assert response.status_code == 404
    assert client.session.get("organization_id") != other_org.pk


def test_switching_needs_post(client_as, org):
    assert client_as("owner").get("/organizations/switch/").status_code == 405
