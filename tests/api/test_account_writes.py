"""Account endpoint writes: what each one changes, the ledger entry it leaves, the rules it keeps."""

import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import LedgerEntry
from opsplatform.accounts import services as account_services
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Team
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory, TeamFactory, UserFactory
from tests.api.account_world import own_token
from tests.ledger import entries

API = "/api/v1"
PROBLEM = "application/problem+json"


def ledger(verb: str, target) -> LedgerEntry:
    return entries(verb, target=target).get()


def token_id(api: APIClient) -> str:
    secret = api._credentials["HTTP_AUTHORIZATION"].split()[1]
    return str(ApiToken.objects.get(key_hash=hashlib.sha256(secret.encode()).hexdigest()).pk)


@pytest.mark.django_db
class TestOrganizationWrites:
    def test_update(self, api_as, org):
        api = api_as("admin")

        response = api.patch(
            f"{API}/organizations/{org.pk}/",
            {"name": "Acme Corp", "time_zone": "Europe/Berlin", "require_2fa_for_admins": True},
            format="json",
        )

        assert response.status_code == 200
        org.refresh_from_db()
        assert (org.name, org.time_zone, org.require_2fa_for_admins) == ("Acme Corp", "Europe/Berlin", True)
        entry = ledger("organization.updated", org)
        assert entry.actor_type == "api_token" and entry.actor_id == token_id(api)
        assert entry.data["changes"]["name"] == "Acme Corp"

    def test_slug_cannot_change(self, api_as, org):
        response = api_as("owner").patch(f"{API}/organizations/{org.pk}/", {"slug": "x"}, format="json")

        assert response.status_code == 400
        org.refresh_from_db()
        assert org.slug == "acme"

    def test_unknown_time_zone(self, api_as, org):
        response = api_as("owner").patch(
            f"{API}/organizations/{org.pk}/", {"time_zone": "Moon/Base"}, format="json"
        )

        assert response.status_code == 400
        assert json.loads(response.content)["errors"][0]["field"] == "time_zone"
        org.refresh_from_db()
        assert org.time_zone == "UTC"


@pytest.mark.django_db
class TestTeamWrites:
    def test_create(self, api_as, org):
        api = api_as("manager")

        response = api.post(
            f"{API}/teams/",
            {"name": "Search", "description": "Index", "time_zone": "Asia/Tokyo"},
            format="json",
        )

        assert response.status_code == 201
        team = Team.objects.get(pk=response.json()["id"])
        assert (team.organization, team.slug, team.time_zone) == (org, "search", "Asia/Tokyo")
        assert ledger("team.created", team).actor_id == token_id(api)

    def test_update(self, api_as, team):
        response = api_as("manager").patch(f"{API}/teams/{team.pk}/", {"description": "Cards"}, format="json")

        assert response.status_code == 200
        team.refresh_from_db()
        assert team.description == "Cards"
        assert ledger("team.updated", team).data == {"changes": {"description": "Cards"}}

    def test_set_members(self, api_as, team, users):
        response = api_as("manager").put(
            f"{API}/teams/{team.pk}/members/",
            {"members": [users["viewer"].pk, users["operator"].pk]},
            format="json",
        )

        assert response.status_code == 200
        assert {m["username"] for m in response.json()["members"]} == {"viewer", "operator"}
        assert set(team.members.values_list("username", flat=True)) == {"viewer", "operator"}
        entry = ledger("team.members_changed", team)
        assert entry.data == {"added": ["viewer"], "removed": ["manager"]}

    def test_members_from_elsewhere_are_unknown_ids(self, api_as, team, outsider):
        ghost = UserFactory(username="ghost")

        response = api_as("manager").put(
            f"{API}/teams/{team.pk}/members/", {"members": [outsider.pk, ghost.pk]}, format="json"
        )

        assert response.status_code == 400
        body = json.loads(response.content)
        assert body["errors"][0]["field"] == "members"
        # Neither the outsider's nor the stray user's name is given away.
        assert "outsider" not in response.content.decode() and "ghost" not in response.content.decode()
        assert set(team.members.values_list("username", flat=True)) == {"operator", "manager"}

    def test_delete(self, api_as, team):
        team_pk = team.pk

        response = api_as("admin").delete(f"{API}/teams/{team_pk}/")

        assert response.status_code == 204
        assert not Team.objects.filter(pk=team_pk).exists()
        assert LedgerEntry.objects.filter(verb="team.deleted", target_id=str(team_pk)).exists()


@pytest.mark.django_db
class TestMemberWrites:
    def test_change_role(self, api_as, org, users):
        membership = Membership.objects.get(organization=org, user=users["viewer"])

        response = api_as("admin").patch(
            f"{API}/members/{membership.pk}/", {"role": "manager"}, format="json"
        )

        assert response.status_code == 200
        assert response.json()["role"] == "manager"
        membership.refresh_from_db()
        assert membership.role == Role.MANAGER
        assert ledger("member.role_changed", membership).data == {
            "user": "viewer",
            "from": "viewer",
            "to": "manager",
        }

    def test_admin_cannot_make_an_owner(self, api_as, org, users):
        membership = Membership.objects.get(organization=org, user=users["viewer"])

        response = api_as("admin").patch(f"{API}/members/{membership.pk}/", {"role": "owner"}, format="json")

        assert response.status_code == 403
        membership.refresh_from_db()
        assert membership.role == Role.VIEWER
        assert not entries("member.role_changed", target=membership).exists()

    def test_unknown_role(self, api_as, org, users):
        membership = Membership.objects.get(organization=org, user=users["viewer"])

        response = api_as("owner").patch(f"{API}/members/{membership.pk}/", {"role": "god"}, format="json")

        assert response.status_code == 400
        assert json.loads(response.content)["errors"][0]["field"] == "role"

    def test_remove_revokes_their_tokens(self, api_as, org, users, token_for):
        membership = Membership.objects.get(organization=org, user=users["operator"])
        token_for("operator")

        response = api_as("admin").delete(f"{API}/members/{membership.pk}/")

        assert response.status_code == 204
        assert not Membership.objects.filter(pk=membership.pk).exists()
        assert not ApiToken.objects.filter(user=users["operator"], revoked_at__isnull=True).exists()
        assert LedgerEntry.objects.filter(verb="member.removed", target_id=str(membership.pk)).exists()

    def test_anyone_may_leave(self, api_as, org, users):
        membership = Membership.objects.get(organization=org, user=users["viewer"])

        response = api_as("viewer").delete(f"{API}/members/{membership.pk}/")

        assert response.status_code == 204
        assert not Membership.objects.filter(pk=membership.pk).exists()

    def test_last_owner_cannot_be_removed(self, api_as, org, users):
        membership = Membership.objects.get(organization=org, user=users["owner"])

        response = api_as("owner").delete(f"{API}/members/{membership.pk}/")

        assert response.status_code == 400
        assert response["Content-Type"] == PROBLEM
        body = json.loads(response.content)
        assert body["type"].endswith("/validation-error")
        assert "last owner" in body["detail"]
        assert Membership.objects.filter(pk=membership.pk, role=Role.OWNER).exists()
        assert not LedgerEntry.objects.filter(verb="member.removed").exists()

    def test_last_owner_cannot_be_demoted(self, api_as, org, users):
        membership = Membership.objects.get(organization=org, user=users["owner"])

        response = api_as("owner").patch(f"{API}/members/{membership.pk}/", {"role": "admin"}, format="json")

        assert response.status_code == 400
        assert json.loads(response.content)["errors"][0]["field"] == "role"
        membership.refresh_from_db()
        assert membership.role == Role.OWNER

    def test_filter_by_role(self, api_as):
        response = api_as("viewer").get(f"{API}/members/?role=admin")

        assert [m["user"]["username"] for m in response.json()["results"]] == ["admin"]


@pytest.mark.django_db
class TestInvitationWrites:
    def test_create_returns_the_link_once(self, api_as, org):
        api = api_as("admin")

        response = api.post(
            f"{API}/invitations/", {"email": "New@Example.test", "role": "operator"}, format="json"
        )

        assert response.status_code == 201
        assert response["Cache-Control"] == "no-store"
        body = response.json()
        invitation = Invitation.objects.get(pk=body["id"])
        assert (invitation.organization, invitation.email, invitation.role) == (
            org,
            "new@example.test",
            "operator",
        )
        assert body["status"] == "pending" and body["invited_by"] == "admin"
        token = body["accept_url"].rstrip("/").rsplit("/", 1)[1]
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert ledger("invitation.created", invitation).data == {
            "email": "new@example.test",
            "role": "operator",
        }
        assert "accept_url" not in api.get(f"{API}/invitations/{invitation.pk}/").json()

    def test_cannot_invite_above_own_role(self, api_as):
        response = api_as("admin").post(
            f"{API}/invitations/", {"email": "boss@example.test", "role": "owner"}, format="json"
        )

        assert response.status_code == 403
        assert not Invitation.objects.filter(email="boss@example.test").exists()
        assert not entries("invitation.created").exists()

    def test_invalid_email(self, api_as):
        response = api_as("admin").post(f"{API}/invitations/", {"email": "not-an-address"}, format="json")

        assert response.status_code == 400
        assert json.loads(response.content)["errors"][0]["field"] == "email"

    def test_existing_member(self, api_as, users):
        response = api_as("admin").post(
            f"{API}/invitations/", {"email": users["viewer"].email}, format="json"
        )

        assert response.status_code == 400
        assert json.loads(response.content)["errors"][0]["field"] == "email"

    @pytest.mark.parametrize("method", ["delete", "revoke"])
    def test_revoke(self, api_as, world, method):
        api = api_as("owner")
        url = f"{API}/invitations/{world.invitation.pk}/"

        response = api.delete(url) if method == "delete" else api.post(f"{url}revoke/")

        assert response.status_code == (204 if method == "delete" else 200)
        world.invitation.refresh_from_db()
        assert world.invitation.revoked_at is not None
        assert ledger("invitation.revoked", world.invitation)


@pytest.mark.django_db
class TestTokenWrites:
    def test_create_with_ceiling_and_expiry(self, api_as, users):
        response = api_as("manager").post(
            f"{API}/tokens/",
            {"name": "deploys", "role": "operator", "expires_at": "2099-01-01T00:00:00Z"},
            format="json",
        )

        assert response.status_code == 201
        token = ApiToken.objects.get(pk=response.json()["id"])
        assert (token.user, token.role, token.expires_at.year) == (users["manager"], "operator", 2099)
        assert ledger("api_token.created", token).data == {"name": "deploys", "role": "operator"}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "  "}, "name"),
            ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
            ({"name": "x", "role": "admin"}, "role"),
            ({"name": "x", "secret": "opk_mine"}, "secret"),
        ],
    )
    def test_invalid_create(self, api_as, body, field):
        response = api_as("operator").post(f"{API}/tokens/", body, format="json")

        assert response.status_code == 400
        assert [e["field"] for e in json.loads(response.content)["errors"]] == [field]

    def test_revoke_own(self, api_as, world, users):
        token = own_token(world, "viewer")

        response = api_as("viewer").delete(f"{API}/tokens/{token.pk}/")

        assert response.status_code == 204
        token.refresh_from_db()
        assert token.revoked_at is not None
        assert ledger("api_token.revoked", token)

    def test_admin_revokes_anyones(self, api_as, world):
        response = api_as("admin").delete(f"{API}/tokens/{world.extra_token.pk}/")

        assert response.status_code == 204
        world.extra_token.refresh_from_db()
        assert world.extra_token.revoked_at is not None

    def test_list_is_own_unless_managing(self, api_as, world):
        def owners(role):
            return {t["user"]["username"] for t in api_as(role).get(f"{API}/tokens/").json()["results"]}

        assert owners("viewer") == {"viewer"}
        assert owners("admin") >= {"admin", "extra"}


@pytest.mark.django_db
class TestListQueryCounts:
    """A list costs the same number of queries for 2 rows as for 12."""

    @staticmethod
    def seed(org, users, actor_as, start: int, count: int) -> None:
        for n in range(start, start + count):
            user = MembershipFactory(organization=org, role=Role.OPERATOR).user
            TeamFactory(organization=org).members.add(user, users["viewer"])
            account_services.invitation_create(
                actor=actor_as("owner"), email=f"p{n}@example.test", role="viewer"
            )
            account_services.api_token_create(actor=Actor.for_member(user, org), name=f"t{n}")

    @staticmethod
    def count(api, url) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(url).status_code == 200
        return len(queries)

    @pytest.mark.parametrize("resource", ["teams", "members", "invitations", "tokens", "organizations"])
    def test_constant(self, api_as, org, users, actor_as, resource):
        api = api_as("owner")
        url = f"{API}/{resource}/"
        self.seed(org, users, actor_as, 0, 2)
        api.get(url)  # the first request records the token's last use
        few = self.count(api, url)

        self.seed(org, users, actor_as, 2, 10)

        assert self.count(api, url) == few
