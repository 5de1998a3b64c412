"""Account endpoints by role and by tenant: who may do what; a refusal leaves everything as it was."""

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from audit.models import LedgerEntry
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization, Team
from opsplatform.core.capabilities import Role
from tests.api.account_world import own_token
from tests.conftest import ROLES

API = "/api/v1"
PROBLEM = "application/problem+json"


def statuses(allowed: set[str], ok: int, refused: int = 403) -> dict[str, int]:
    return {role: ok if role in allowed else refused for role in ROLES}


EVERYONE = set(ROLES)
ADMINS = {"owner", "admin"}
MANAGERS = {"owner", "admin", "manager"}

# (name, method, url(world, role), body, {role: expected status})
MATRIX = [
    ("organizations.list", "get", lambda w, r: f"{API}/organizations/", None, statuses(EVERYONE, 200)),
    (
        "organizations.current",
        "get",
        lambda w, r: f"{API}/organizations/current/",
        None,
        statuses(EVERYONE, 200),
    ),
    (
        "organizations.retrieve",
        "get",
        lambda w, r: f"{API}/organizations/{w.org.pk}/",
        None,
        statuses(EVERYONE, 200),
    ),
    (
        "organizations.update",
        "patch",
        lambda w, r: f"{API}/organizations/{w.org.pk}/",
        {"time_zone": "Europe/Berlin"},
        statuses(ADMINS, 200),
    ),
    ("teams.list", "get", lambda w, r: f"{API}/teams/", None, statuses(EVERYONE, 200)),
    ("teams.retrieve", "get", lambda w, r: f"{API}/teams/{w.team.pk}/", None, statuses(EVERYONE, 200)),
    ("teams.create", "post", lambda w, r: f"{API}/teams/", {"name": "Search"}, statuses(MANAGERS, 201)),
    (
        "teams.partial_update",
        "patch",
        lambda w, r: f"{API}/teams/{w.team.pk}/",
        {"description": "Cards and wallets"},
        statuses(MANAGERS, 200),
    ),
    (
        "teams.update",
        "put",
        lambda w, r: f"{API}/teams/{w.team.pk}/",
        {"name": "Payments", "description": "", "time_zone": "Europe/Paris"},
        statuses(MANAGERS, 200),
    ),
    (
        "teams.members",
        "put",
        lambda w, r: f"{API}/teams/{w.team.pk}/members/",
        lambda w: {"members": [w.users["viewer"].pk]},
        statuses(MANAGERS, 200),
    ),
    ("teams.destroy", "delete", lambda w, r: f"{API}/teams/{w.team.pk}/", None, statuses(MANAGERS, 204)),
    ("members.list", "get", lambda w, r: f"{API}/members/", None, statuses(EVERYONE, 200)),
    ("members.retrieve", "get", lambda w, r: f"{API}/members/{w.extra.pk}/", None, statuses(EVERYONE, 200)),
    (
        "members.partial_update",
        "patch",
        lambda w, r: f"{API}/members/{w.extra.pk}/",
        {"role": "operator"},
        statuses(ADMINS, 200),
    ),
    ("members.destroy", "delete", lambda w, r: f"{API}/members/{w.extra.pk}/", None, statuses(ADMINS, 204)),
    ("invitations.list", "get", lambda w, r: f"{API}/invitations/", None, statuses(ADMINS, 200)),
    (
        "invitations.retrieve",
        "get",
        lambda w, r: f"{API}/invitations/{w.invitation.pk}/",
        None,
        statuses(ADMINS, 200),
    ),
    (
        "invitations.create",
        "post",
        lambda w, r: f"{API}/invitations/",
        {"email": "new@example.test", "role": "viewer"},
        statuses(ADMINS, 201),
    ),
    (
        "invitations.destroy",
        "delete",
        lambda w, r: f"{API}/invitations/{w.invitation.pk}/",
        None,
        statuses(ADMINS, 204),
    ),
    (
        "invitations.revoke",
        "post",
        lambda w, r: f"{API}/invitations/{w.invitation.pk}/revoke/",
        None,
        statuses(ADMINS, 200),
    ),
    ("tokens.list", "get", lambda w, r: f"{API}/tokens/", None, statuses(EVERYONE, 200)),
    ("tokens.create", "post", lambda w, r: f"{API}/tokens/", {"name": "ci"}, statuses(EVERYONE, 201)),
    (
        "tokens.retrieve.own",
        "get",
        lambda w, r: f"{API}/tokens/{own_token(w, r).pk}/",
        None,
        statuses(EVERYONE, 200),
    ),
    (
        "tokens.destroy.own",
        "delete",
        lambda w, r: f"{API}/tokens/{own_token(w, r).pk}/",
        None,
        statuses(EVERYONE, 204),
    ),
    # Another person's token is not even visible without token.manage.
    (
        "tokens.retrieve.other",
        "get",
        lambda w, r: f"{API}/tokens/{w.extra_token.pk}/",
        None,
        statuses(ADMINS, 200, refused=404),
    ),
    (
        "tokens.destroy.other",
        "delete",
        lambda w, r: f"{API}/tokens/{w.extra_token.pk}/",
        None,
        statuses(ADMINS, 204, refused=404),
    ),
]


def stored_rows(org) -> dict[str, list]:
    """What the account endpoints can change in ``org`` (a token's last use aside: reads record it)."""
    return {
        "organization": list(
            Organization.objects.filter(pk=org.pk).values_list("name", "time_zone", "require_2fa_for_admins")
        ),
        "teams": list(
            Team.objects.filter(organization=org).order_by("pk").values_list("pk", "name", "description")
        ),
        "team_members": sorted(
            Team.members.through.objects.filter(team__organization=org).values_list("team_id", "user_id")
        ),
        "memberships": list(
            Membership.objects.filter(organization=org).order_by("pk").values_list("pk", "user_id", "role")
        ),
        "invitations": list(
            Invitation.objects.filter(organization=org)
            .order_by("pk")
            .values_list("pk", "email", "role", "accepted_at", "revoked_at")
        ),
        "tokens": list(
            ApiToken.objects.filter(organization=org)
            .order_by("pk")
            .values_list("pk", "name", "role", "revoked_at")
        ),
    }


CASES = [
    pytest.param(
        SimpleNamespace(method=method, url=url, body=body, role=role, expected=expected[role]),
        id=f"{name}-{role}",
    )
    for name, method, url, body, expected in MATRIX
    for role in ROLES
]


@pytest.mark.django_db
@pytest.mark.parametrize("via", ["token", "session"])
@pytest.mark.parametrize("case", CASES)
def test_permission_matrix(world, api_as, users, via, case):
    if via == "token":
        api = api_as(case.role)
    else:
        api = APIClient()
        api.force_login(users[case.role])
    path = case.url(world, case.role)
    payload = case.body(world) if callable(case.body) else case.body
    entries_before = LedgerEntry.objects.count()
    rows_before = stored_rows(world.org)

    response = getattr(api, case.method)(path, payload, format="json")

    assert response.status_code == case.expected, response.content
    if case.expected >= 400:
        assert response["Content-Type"] == PROBLEM
        assert LedgerEntry.objects.count() == entries_before
        assert stored_rows(world.org) == rows_before
    elif case.method != "get":
        assert LedgerEntry.objects.count() > entries_before


OBJECT_URLS = [
    ("get", lambda w: f"{API}/teams/{w.team.pk}/", None),
    ("patch", lambda w: f"{API}/teams/{w.team.pk}/", {"name": "Mine"}),
    ("put", lambda w: f"{API}/teams/{w.team.pk}/", {"name": "Mine"}),
    ("delete", lambda w: f"{API}/teams/{w.team.pk}/", None),
    ("put", lambda w: f"{API}/teams/{w.team.pk}/members/", {"members": []}),
    ("get", lambda w: f"{API}/members/{w.extra.pk}/", None),
    ("patch", lambda w: f"{API}/members/{w.extra.pk}/", {"role": "owner"}),
    ("delete", lambda w: f"{API}/members/{w.extra.pk}/", None),
    ("get", lambda w: f"{API}/invitations/{w.invitation.pk}/", None),
    ("delete", lambda w: f"{API}/invitations/{w.invitation.pk}/", None),
    ("post", lambda w: f"{API}/invitations/{w.invitation.pk}/revoke/", None),
    ("get", lambda w: f"{API}/tokens/{w.extra_token.pk}/", None),
    ("delete", lambda w: f"{API}/tokens/{w.extra_token.pk}/", None),
    ("get", lambda w: f"{API}/organizations/{w.org.pk}/", None),
    ("patch", lambda w: f"{API}/organizations/{w.org.pk}/", {"name": "Mine"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url", "body"), OBJECT_URLS)
def test_outsider_gets_404_on_every_object(world, api_as, method, url, body):
    api = api_as("outsider")
    entries_before = LedgerEntry.objects.filter(organization=world.org).count()

    response = getattr(api, method)(url(world), body, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert LedgerEntry.objects.filter(organization=world.org).count() == entries_before
    world.team.refresh_from_db()
    world.extra.refresh_from_db()
    world.invitation.refresh_from_db()
    world.extra_token.refresh_from_db()
    world.org.refresh_from_db()
    assert (world.team.name, world.extra.role, world.org.name) == ("Payments", Role.VIEWER, "Acme")
    assert world.invitation.revoked_at is None and world.extra_token.revoked_at is None


@pytest.mark.django_db
def test_outsider_lists_only_their_own_organization(world, api_as, other_team):
    api = api_as("outsider")

    assert [t["id"] for t in api.get(f"{API}/teams/").json()["results"]] == [other_team.pk]
    assert [m["user"]["username"] for m in api.get(f"{API}/members/").json()["results"]] == ["outsider"]
    assert api.get(f"{API}/invitations/").json()["results"] == []
    assert [t["user"]["username"] for t in api.get(f"{API}/tokens/").json()["results"]] == ["outsider"]
