"""The home page by role: what each role sees, and that nothing it links to answers 403."""

import re

import pytest

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "manager", "operator", "viewer"]
CARDS = ["stats", "attention", "mine", "sla", "oncall", "deliveries", "activity"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_a_home_with_every_card(client_as, busy_org, role):
    response = client_as(role).get("/")

    assert response.status_code == 200
    content = response.content.decode()
    for card in ["attention", "mine", "oncall", "sla", "deliveries", "activity"]:
        assert f'id="card-{card}"' in content
    assert "Card payments failing" in content
    assert 'data-stat="triggered"' in content


def test_smoke(client_as, busy_org):
    content = client_as("manager").get("/").content.decode()
    print(content)
