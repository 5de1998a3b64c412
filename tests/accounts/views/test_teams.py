"""Team pages: create, edit (fields and members as one), delete, by role."""

import pytest

from opsplatform.accounts.models import Team
from tests.accounts.factories import TeamFactory
from tests.accounts.views.pages import expect, ledger

pytestmark = pytest.mark.django_db


# --- teams --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin", "manager"}, ok=302))
def test_creating_a_team_needs_team_manage(client_as, org, role, status):
    response = client_as(role).post(
        "/settings/teams/", {"name": "Platform", "description": "", "time_zone": "Europe/Paris"}
    )

    assert response.status_code == status
    created = Team.objects.filter(organization=org, name="Platform")
    assert created.exists() is (status == 302)
    if status == 302:
        assert response["Location"] == f"/settings/teams/{created.get().pk}/"
        assert created.get().time_zone == "Europe/Paris"
    assert ledger("team.created", org).exists() is (status == 302)


def test_duplicate_team_name_is_a_form_error(client_as, team):
    response = client_as("manager").post("/settings/teams/", {"name": "Payments", "time_zone": "UTC"})

    assert response.status_code == 200
    assert "A team with this name already exists." in response.content.decode()
    assert Team.objects.filter(name="Payments").count() == 1


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin", "manager"}, ok=302))
def test_editing_a_team_and_its_members(client_as, users, team, role, status):
    response = client_as(role).post(
        f"/settings/teams/{team.pk}/edit/",
        {
            "name": "Payments core",
            "description": "Card flows",
            "time_zone": "America/New_York",
            "members": [users["viewer"].pk, users["operator"].pk],
        },
    )

    assert response.status_code == status
    team.refresh_from_db()
    if status == 302:
        assert (team.name, team.time_zone) == ("Payments core", "America/New_York")
        assert set(team.members.values_list("username", flat=True)) == {"viewer", "operator"}
        assert ledger("team.updated", team.organization).count() == 1
        assert ledger("team.members_changed", team.organization).get().data == {
            "added": ["viewer"],
            "removed": ["manager"],
        }
    else:
        assert team.name == "Payments"
        assert set(team.members.values_list("username", flat=True)) == {"operator", "manager"}
        assert not ledger("team.updated", team.organization).exists()
        assert not ledger("team.members_changed", team.organization).exists()


def test_team_members_must_belong_to_the_organization(client_as, team, outsider):
    response = client_as("manager").post(
        f"/settings/teams/{team.pk}/edit/",
        {"name": "Payments", "time_zone": "UTC", "members": [outsider.pk]},
    )

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert not team.members.filter(pk=outsider.pk).exists()


def test_bad_team_time_zone_is_a_form_error(client_as, team):
    response = client_as("manager").post(
        f"/settings/teams/{team.pk}/edit/", {"name": "Payments", "time_zone": "Nowhere/Special"}
    )

    assert response.status_code == 200
    team.refresh_from_db()
    assert team.time_zone == "UTC"


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin", "manager"}, ok=302))
def test_deleting_a_team_needs_team_manage(client_as, org, team, role, status):
    response = client_as(role).post(f"/settings/teams/{team.pk}/delete/")

    assert response.status_code == status
    assert Team.objects.filter(pk=team.pk).exists() is (status != 302)
    assert ledger("team.deleted", org).exists() is (status == 302)


def test_new_team_form_is_a_dialog_offered_to_managers_only(client_as, team):
    manager = client_as("manager").get("/settings/teams/").content.decode()
    assert 'data-dialog="new-team"' in manager and '<dialog id="new-team"' in manager
    viewer = client_as("viewer").get("/settings/teams/").content.decode()
    assert "new-team" not in viewer
    assert "Payments" in viewer

    response = client_as("manager").post("/settings/teams/", {"name": "Payments", "time_zone": "UTC"})
    assert '<dialog id="new-team" class="dialog" data-open' in response.content.decode()


def test_teams_list_paginates(client_as, org):
    for n in range(55):
        TeamFactory(organization=org, name=f"Team {n:02d}", slug=f"team-{n:02d}")

    first = client_as("viewer").get("/settings/teams/").content.decode()
    second = client_as("viewer").get("/settings/teams/?page=2").content.decode()

    assert "Team 00" in first and "Team 54" not in first
    assert "Team 54" in second and "Team 00" not in second
    assert 'href="?page=2"' in first and "55 in all" in first
