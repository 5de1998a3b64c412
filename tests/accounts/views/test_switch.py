"""The organization switcher (the home page it returns to is tested in tests/home)."""

import pytest

from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory

pytestmark = pytest.mark.django_db


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
