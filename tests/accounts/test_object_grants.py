"""Grants beyond the role: a viewer given change on one object may act on that object only."""

import pytest
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from opsplatform.accounts.services import api_token_create, team_update
from opsplatform.core.capabilities import Capability
from opsplatform.core.object_grants import grant_object_capability
from tests.accounts.factories import TeamFactory


@pytest.fixture
def second_team(org):
    return TeamFactory(organization=org, name="Search", slug="search")


def test_viewer_granted_one_team_may_change_only_that_team(actor_as, users, team, second_team):
    viewer = actor_as("viewer")
    with pytest.raises(PermissionDenied):
        team_update(actor=viewer, team=team, description="nope")
    grant_object_capability(users["viewer"], Capability.TEAM_MANAGE, team)
    viewer = actor_as("viewer")  # permissions are cached per user object; a new request sees the grant
    team_update(actor=viewer, team=team, description="on-call handbook")
    team.refresh_from_db()
    assert team.description == "on-call handbook"
    with pytest.raises(PermissionDenied):
        team_update(actor=viewer, team=second_team, description="still no")


def test_grant_through_the_api(api_as, users, team, second_team):
    grant_object_capability(users["viewer"], Capability.TEAM_MANAGE, team)
    api = api_as("viewer")
    assert (
        api.patch(f"/api/v1/teams/{team.pk}/", {"description": "granted"}, format="json").status_code == 200
    )
    assert (
        api.patch(f"/api/v1/teams/{second_team.pk}/", {"description": "x"}, format="json").status_code == 403
    )
    team.refresh_from_db()
    second_team.refresh_from_db()
    assert (team.description, second_team.description) == ("granted", "")


def test_capped_token_does_not_regain_power_through_grants(actor_as, users, team):
    grant_object_capability(users["viewer"], Capability.TEAM_MANAGE, team)
    capped = api_token_create(actor=actor_as("viewer"), name="capped", role="viewer").secret
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {capped}")
    assert api.patch(f"/api/v1/teams/{team.pk}/", {"description": "x"}, format="json").status_code == 403


def test_capability_without_object_form_cannot_be_granted(users, team):
    with pytest.raises(ValueError, match="cannot be granted"):
        grant_object_capability(users["viewer"], Capability.MEMBER_INVITE, team)
