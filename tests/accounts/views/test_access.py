"""Every account page by role, tenant isolation, and query counts on list pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsplatform.accounts import services
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization, Team
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory, TeamFactory
from tests.accounts.views.pages import ROLES, expect

pytestmark = pytest.mark.django_db


# --- every page, every role ---------------------------------------------------------------------

EVERYONE_PAGES = [
    "/",
    "/settings/profile/",
    "/settings/security/",
    "/settings/tokens/",
    "/settings/members/",
    "/settings/teams/",
    "/settings/organization/",
]


@pytest.mark.parametrize("path", EVERYONE_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_the_shared_pages(client_as, role, path):
    response = client_as(role).get(path)

    assert response.status_code == 200


@pytest.mark.parametrize("path", [*EVERYONE_PAGES, "/settings/teams/1/", "/accounts/2fa/setup/"])
def test_anonymous_visitors_are_sent_to_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", ROLES)
def test_team_detail_is_visible_to_every_member(client_as, team, role):
    response = client_as(role).get(f"/settings/teams/{team.pk}/")

    assert response.status_code == 200
    assert b"Payments" in response.content
    assert b"operator" in response.content


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin", "manager"}))
@pytest.mark.parametrize("page", ["edit", "delete"])
def test_team_edit_and_delete_pages_need_team_manage(client_as, team, role, status, page):
    response = client_as(role).get(f"/settings/teams/{team.pk}/{page}/")

    assert response.status_code == status


# --- tenant isolation ---------------------------------------------------------------------------


@pytest.fixture
def org_objects(org, users, team, viewer_token, pending_invitation):
    return {
        "team": team,
        "membership": Membership.objects.get(organization=org, user=users["viewer"]),
        "token": viewer_token,
        "invitation": pending_invitation,
    }


OBJECT_URLS = [
    ("get", "/settings/teams/{team}/"),
    ("get", "/settings/teams/{team}/edit/"),
    ("post", "/settings/teams/{team}/edit/"),
    ("get", "/settings/teams/{team}/delete/"),
    ("post", "/settings/teams/{team}/delete/"),
    ("post", "/settings/members/{membership}/role/"),
    ("post", "/settings/members/{membership}/remove/"),
    ("post", "/settings/tokens/{token}/revoke/"),
    ("post", "/settings/invitations/{invitation}/revoke/"),
]


@pytest.mark.parametrize(("method", "template"), OBJECT_URLS)
def test_outsider_gets_404_for_every_object_of_another_organization(client_as, org_objects, method, template):
    url = template.format(**{name: obj.pk for name, obj in org_objects.items()})

    response = getattr(client_as("outsider"), method)(
        url, {"role": "viewer", "name": "x", "time_zone": "UTC"}
    )

    assert response.status_code == 404
    assert Team.objects.filter(pk=org_objects["team"].pk, name="Payments").exists()
    assert Membership.objects.filter(pk=org_objects["membership"].pk, role=Role.VIEWER).exists()
    assert ApiToken.objects.get(pk=org_objects["token"].pk).revoked_at is None
    assert Invitation.objects.get(pk=org_objects["invitation"].pk).revoked_at is None


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_members_get_404_for_the_other_organizations_team(client_as, other_team, role):
    assert client_as(role).get(f"/settings/teams/{other_team.pk}/").status_code == 404
    assert client_as(role).post(f"/settings/teams/{other_team.pk}/delete/").status_code == 404
    assert Team.objects.filter(pk=other_team.pk).exists()


# --- query counts -------------------------------------------------------------------------------


def _queries_for(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["/settings/members/", "/settings/teams/", "/settings/tokens/"])
def test_list_pages_do_not_grow_queries_with_rows(client_as, org, users, path):
    client = client_as("owner")
    owner = Actor.for_member(users["owner"], org)

    def add_rows(n):
        for _ in range(n):
            user = MembershipFactory(organization=org, role=Role.VIEWER).user
            TeamFactory(organization=org).members.add(user)
            services.api_token_create(actor=Actor.for_member(user, org), name="t")
            services.invitation_create(actor=owner, email=f"{user.username}-x@example.test", role=Role.VIEWER)

    add_rows(2)
    few = _queries_for(client, path)
    add_rows(10)
    many = _queries_for(client, path)

    assert many == few


def test_organization_name_is_escaped(client_as, org):
    Organization.objects.filter(pk=org.pk).update(name="<script>x</script>")

    content = client_as("viewer").get("/").content.decode()

    assert "<script>x</script>" not in content
    assert "&lt;script&gt;x&lt;/script&gt;" in content
