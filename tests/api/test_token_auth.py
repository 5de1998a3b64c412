"""Bearer tokens and browser sessions as API credentials."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import LedgerEntry
from opsplatform.accounts import services as account_services
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Team
from opsplatform.core.capabilities import Role
from opsplatform.core.object_grants import grant_object_capability
from tests.accounts.factories import MembershipFactory, TeamFactory
from tests.ledger import entries

PROBLEM = "application/problem+json"
CURRENT = "/api/v1/organizations/current/"


def bearer(secret: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api


def token_of(secret: str) -> ApiToken:
    return ApiToken.objects.get(key_hash=hashlib.sha256(secret.encode()).hexdigest())


def capped_token(actor_as, role: str, ceiling: str) -> str:
    """A token of ``role``'s member that acts with at most ``ceiling``."""
    return account_services.api_token_create(actor=actor_as(role), name="capped", role=ceiling).secret


def assert_unauthorized(response):
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')
    assert json.loads(response.content)["type"].endswith("/not-authenticated")


@pytest.mark.django_db
class TestBearer:
    def test_a_valid_token_acts_for_its_owner_in_its_organization(self, token_for, org):
        secret = token_for("operator")

        response = bearer(secret).get(CURRENT)

        assert response.status_code == 200
        assert response.json()["slug"] == org.slug
        assert token_of(secret).last_used_at is not None

    def test_scheme_is_case_insensitive(self, token_for):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"bearer {token_for('viewer')}")

        assert api.get(CURRENT).status_code == 200

    def test_revoked_token_is_refused(self, token_for, actor_as):
        secret = token_for("operator")
        account_services.api_token_revoke(actor=actor_as("operator"), token=token_of(secret))

        response = bearer(secret).get(CURRENT)

        assert_unauthorized(response)
        assert 'error="invalid_token"' in response["WWW-Authenticate"]

    def test_expired_token_is_refused(self, token_for):
        secret = token_for("operator", expires_at=timezone.now() + timedelta(hours=1))
        ApiToken.objects.filter(pk=token_of(secret).pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

        assert_unauthorized(bearer(secret).get(CURRENT))

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer opk_not-a-real-token",
            "Bearer ",
            "Bearer two parts",
            "Bearer " + "x" * 5000,
        ],
    )
    def test_garbage_is_refused(self, db, header):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=header)

        assert_unauthorized(api.get(CURRENT))

    def test_other_schemes_are_not_credentials(self, db):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

        response = api.get(CURRENT)

        assert response.status_code == 401
        assert "invalid_token" not in response["WWW-Authenticate"]

    def test_deactivated_owner_token_is_refused(self, token_for, users):
        secret = token_for("admin")
        users["admin"].is_active = False
        users["admin"].save(update_fields=["is_active"])

        assert_unauthorized(bearer(secret).get(CURRENT))


@pytest.mark.django_db
class TestTokenScope:
    def test_token_cannot_see_another_organizations_objects(self, token_for, other_team, team):
        api = bearer(token_for("owner"))

        assert api.get(f"/api/v1/teams/{other_team.pk}/").status_code == 404
        listed = api.get("/api/v1/teams/").json()["results"]
        assert [t["id"] for t in listed] == [team.pk]

    def test_token_is_bound_to_its_organization_even_for_a_member_of_both(
        self, token_for, users, org, other_org, other_team
    ):
        MembershipFactory(organization=other_org, user=users["owner"], role=Role.OWNER)
        api = bearer(token_for("owner"))

        organizations = api.get("/api/v1/organizations/").json()["results"]
        assert [o["slug"] for o in organizations] == [org.slug]
        assert api.get(f"/api/v1/organizations/{other_org.pk}/").status_code == 404
        assert api.get(f"/api/v1/teams/{other_team.pk}/").status_code == 404
        response = api.patch(f"/api/v1/organizations/{other_org.pk}/", {"name": "Taken"}, format="json")
        assert response.status_code == 404
        other_org.refresh_from_db()
        assert other_org.name == "Globex"

    def test_role_ceiling_caps_an_owner_token(self, actor_as, org, team):
        api = bearer(capped_token(actor_as, "owner", Role.VIEWER))

        assert api.get("/api/v1/teams/").status_code == 200
        assert api.post("/api/v1/teams/", {"name": "Shadow"}, format="json").status_code == 403
        assert (
            api.patch(f"/api/v1/organizations/{org.pk}/", {"name": "Owned"}, format="json").status_code == 403
        )
        assert api.delete(f"/api/v1/teams/{team.pk}/").status_code == 403
        assert api.get("/api/v1/invitations/").status_code == 403
        assert not Team.objects.filter(name="Shadow").exists()
        assert Team.objects.filter(pk=team.pk).exists()
        org.refresh_from_db()
        assert org.name == "Acme"
        assert not entries(prefix="team.").exists()
        assert not entries("organization.updated").exists()

    def test_ceiling_token_cannot_mint_a_stronger_token(self, actor_as):
        api = bearer(capped_token(actor_as, "owner", Role.VIEWER))

        unlimited = api.post("/api/v1/tokens/", {"name": "escape"}, format="json")
        explicit = api.post("/api/v1/tokens/", {"name": "escape 2", "role": "owner"}, format="json")

        assert unlimited.status_code == 201
        assert ApiToken.objects.get(pk=unlimited.json()["id"]).role == Role.VIEWER
        assert (
            bearer(unlimited.json()["secret"])
            .post("/api/v1/teams/", {"name": "x"}, format="json")
            .status_code
            == 403
        )
        assert explicit.status_code == 400
        assert json.loads(explicit.content)["errors"][0]["field"] == "role"
        assert not Team.objects.filter(name="x").exists()
        assert not ApiToken.objects.filter(name="escape 2").exists()
        assert not entries("team.created").exists()

    def test_token_of_a_demoted_creator_loses_power(self, token_for, users, org, actor_as):
        secret = token_for("admin")
        api = bearer(secret)
        assert api.post("/api/v1/teams/", {"name": "Before"}, format="json").status_code == 201

        membership = Membership.objects.get(organization=org, user=users["admin"])
        account_services.membership_change_role(
            actor=actor_as("owner"), membership=membership, role=Role.VIEWER
        )

        assert api.post("/api/v1/teams/", {"name": "After"}, format="json").status_code == 403
        assert api.get("/api/v1/teams/").status_code == 200
        assert not Team.objects.filter(name="After").exists()
        assert entries("team.created").count() == 1

    def test_token_of_someone_no_longer_a_member_is_refused_everything(self, token_for, users, org, team):
        secret = token_for("manager")
        # Not through membership_remove (which also revokes the tokens): the row just disappears.
        Membership.objects.filter(organization=org, user=users["manager"]).delete()
        api = bearer(secret)

        assert api.get(CURRENT).status_code == 403
        assert api.get("/api/v1/teams/").status_code == 403
        assert api.get(f"/api/v1/teams/{team.pk}/").status_code == 403
        assert api.patch(f"/api/v1/teams/{team.pk}/", {"name": "x"}, format="json").status_code == 403
        team.refresh_from_db()
        assert team.name == "Payments"
        assert not entries("team.updated", target=team).exists()

    def test_removing_a_member_revokes_their_tokens(self, token_for, users, org, actor_as):
        secret = token_for("operator")
        membership = Membership.objects.get(organization=org, user=users["operator"])
        account_services.membership_remove(actor=actor_as("admin"), membership=membership)

        assert_unauthorized(bearer(secret).get(CURRENT))

    def test_object_grants_do_not_lift_a_ceiling(self, token_for, actor_as, users, org):
        granted = TeamFactory(organization=org, name="Granted", slug="granted")
        grant_object_capability(users["viewer"], "team.manage", granted)
        unrestricted = bearer(token_for("viewer"))
        capped = bearer(capped_token(actor_as, "viewer", Role.VIEWER))

        assert (
            unrestricted.patch(
                f"/api/v1/teams/{granted.pk}/", {"description": "a"}, format="json"
            ).status_code
            == 200
        )
        assert (
            capped.patch(f"/api/v1/teams/{granted.pk}/", {"description": "b"}, format="json").status_code
            == 403
        )
        granted.refresh_from_db()
        assert granted.description == "a"
        assert entries("team.updated", target=granted).count() == 1


@pytest.mark.django_db
class TestSecretHandling:
    def test_secret_is_returned_once_and_stored_only_as_a_digest(self, api_as, users):
        api = api_as("operator")

        created = api.post("/api/v1/tokens/", {"name": "ci"}, format="json")

        assert created.status_code == 201
        assert created["Cache-Control"] == "no-store"
        secret = created.json()["secret"]
        assert secret.startswith("opk_")
        token = ApiToken.objects.get(pk=created.json()["id"])
        assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
        stored = [str(v) for v in ApiToken.objects.filter(pk=token.pk).values().first().values()]
        assert all(secret not in value for value in stored)
        assert secret.startswith(token.prefix) and len(token.prefix) < len(secret)
        # Never again: not in the detail, not in the list, not in the ledger.
        detail = api.get(f"/api/v1/tokens/{token.pk}/")
        listing = api.get("/api/v1/tokens/")
        assert "secret" not in detail.json()
        assert secret not in detail.content.decode() and secret not in listing.content.decode()
        entry = LedgerEntry.objects.get(verb="api_token.created", target_id=str(token.pk))
        assert secret not in json.dumps(entry.data)
        # And it works.
        assert bearer(secret).get(CURRENT).status_code == 200


@pytest.mark.django_db
class TestSession:
    @pytest.fixture
    def session_api(self, users):
        api = APIClient(enforce_csrf_checks=True)
        api.force_login(users["admin"])
        return api

    def test_session_reads_without_csrf(self, session_api, org):
        response = session_api.get(CURRENT)

        assert response.status_code == 200
        assert response.json()["slug"] == org.slug

    def test_session_writes_need_csrf(self, session_api):
        response = session_api.post("/api/v1/teams/", {"name": "No token"}, format="json")

        assert response.status_code == 403
        assert response["Content-Type"] == PROBLEM
        assert "CSRF" in json.loads(response.content)["detail"]
        assert not Team.objects.filter(name="No token").exists()
        assert not entries("team.created").exists()

    def test_session_writes_with_csrf(self, session_api):
        csrf = "a" * 32
        session_api.cookies["csrftoken"] = csrf

        response = session_api.post(
            "/api/v1/teams/", {"name": "With token"}, format="json", HTTP_X_CSRFTOKEN=csrf
        )

        assert response.status_code == 201
        entry = LedgerEntry.objects.get(verb="team.created", target_id=str(response.json()["id"]))
        assert entry.actor_type == "user"

    def test_session_actor_is_the_current_organization(self, users, org, other_org):
        MembershipFactory(organization=other_org, user=users["viewer"], role=Role.ADMIN)
        api = APIClient()
        api.force_login(users["viewer"])
        session = api.session
        session["organization_id"] = other_org.pk
        session.save()

        assert api.get(CURRENT).json()["slug"] == other_org.slug
        slugs = {o["slug"] for o in api.get("/api/v1/organizations/").json()["results"]}
        assert slugs == {org.slug, other_org.slug}
        # Admin in the current organization, viewer in the other: no changing the other from here.
        response = api.patch(f"/api/v1/organizations/{org.pk}/", {"name": "Hijacked"}, format="json")
        assert response.status_code == 403
        org.refresh_from_db()
        assert org.name == "Acme"
        assert not entries("organization.updated").exists()

    def test_a_person_without_an_organization_is_refused(self, user_factory):
        api = APIClient()
        api.force_login(user_factory())

        response = api.get(CURRENT)

        assert response.status_code == 403
        assert response["Content-Type"] == PROBLEM

    def test_token_header_wins_over_a_session(self, token_for, users):
        api = APIClient()
        api.force_login(users["owner"])
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for('viewer')}")

        assert api.post("/api/v1/teams/", {"name": "x"}, format="json").status_code == 403
        assert not Team.objects.filter(name="x").exists()
        assert not entries("team.created").exists()


@pytest.mark.django_db
class TestForcedAuthentication:
    """DRF's force_authenticate (used by tests) resolves the same actor as a real login."""

    def test_forced_user_acts_in_their_organization(self, users, org):
        api = APIClient()
        api.force_authenticate(user=users["manager"])

        assert api.get(CURRENT).json()["slug"] == org.slug
        assert api.post("/api/v1/teams/", {"name": "Forced"}, format="json").status_code == 201
        assert api.post("/api/v1/invitations/", {"email": "x@example.test"}, format="json").status_code == 403
        assert not Invitation.objects.filter(email="x@example.test").exists()
        assert not entries("invitation.created").exists()

    def test_forced_token_keeps_its_ceiling(self, users, actor_as):
        secret = capped_token(actor_as, "owner", Role.VIEWER)
        api = APIClient()
        api.force_authenticate(user=users["owner"], token=token_of(secret))

        assert api.post("/api/v1/teams/", {"name": "Forced"}, format="json").status_code == 403
        assert not Team.objects.filter(name="Forced").exists()
        assert not entries("team.created").exists()
