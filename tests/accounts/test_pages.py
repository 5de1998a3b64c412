"""Dashboard, organization switcher and settings pages: every page by role, tenant isolation,
capability-guarded actions, service errors as form errors, query counts on list pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import LedgerEntry
from opsplatform.accounts import selectors, services
from opsplatform.accounts.models import ApiToken, Invitation, Membership, Organization, Team
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from tests.accounts.factories import PASSWORD, MembershipFactory, TeamFactory, UserFactory

ROLES = ["owner", "admin", "manager", "operator", "viewer"]
pytestmark = pytest.mark.django_db


def expect(allowed_roles, ok=200, denied=403):
    """``[(role, expected status)]`` for every role: ``ok`` for ``allowed_roles``, else ``denied``."""
    return [(role, ok if role in allowed_roles else denied) for role in ROLES]


def ledger(verb, org=None):
    return LedgerEntry.objects.filter(verb=verb, organization=org)


@pytest.fixture
def viewer_token(org, users):
    return services.api_token_create(actor=Actor.for_member(users["viewer"], org), name="viewer ci").token


@pytest.fixture
def pending_invitation(org, users):
    return services.invitation_create(
        actor=Actor.for_member(users["owner"], org), email="new@example.test", role=Role.OPERATOR
    ).invitation


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


# --- profile ------------------------------------------------------------------------------------


def test_profile_update(client_as, users):
    client = client_as("viewer")

    response = client.post(
        "/settings/profile/",
        {"display_name": "Vera Viewer", "email": "Vera@Example.test", "time_zone": "Europe/Berlin"},
    )

    assert response.status_code == 302
    user = users["viewer"]
    user.refresh_from_db()
    assert (user.display_name, user.email, user.time_zone) == (
        "Vera Viewer",
        "vera@example.test",
        "Europe/Berlin",
    )
    assert ledger("user.profile_updated").get().data == {"fields": ["display_name", "email", "time_zone"]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Mars/Olympus_Mons", "Select a valid choice."),
        ("email", "not-an-address", "Enter a valid email address."),
        ("email", "owner@example.test", "Another account already uses this e-mail address."),
    ],
)
def test_profile_bad_input_is_a_form_error(client_as, users, field, value, message):
    data = {"display_name": "", "email": "viewer@example.test", "time_zone": "UTC", field: value}

    response = client_as("viewer").post("/settings/profile/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    users["viewer"].refresh_from_db()
    assert users["viewer"].time_zone == "UTC"
    assert users["viewer"].email == "viewer@example.test"
    assert not ledger("user.profile_updated").exists()


def test_password_change_keeps_this_session(client_as, users):
    client = client_as("operator")

    response = client.post(
        "/settings/profile/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-better-passphrase",
            "new_password2": "a-much-better-passphrase",
        },
    )

    assert response.status_code == 302
    users["operator"].refresh_from_db()
    assert users["operator"].check_password("a-much-better-passphrase")
    assert client.get("/settings/profile/").status_code == 200
    assert ledger("user.password_changed").count() == 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("wrong-old-password", "a-much-better-passphrase", "Your old password was entered incorrectly"),
        (PASSWORD, "short", "This password is too short"),
        (PASSWORD, "password123", "This password is too common"),
    ],
)
def test_password_change_errors_are_form_errors(client_as, users, old, new, message):
    response = client_as("operator").post(
        "/settings/profile/password/", {"old_password": old, "new_password1": new, "new_password2": new}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    users["operator"].refresh_from_db()
    assert users["operator"].check_password(PASSWORD)


# --- API tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_everyone_creates_tokens_and_sees_the_secret_once(client_as, org, users, role):
    client = client_as(role)

    response = client.post("/settings/tokens/", {"name": "deploy bot", "role": "", "expires_in": "30"})

    assert response.status_code == 200
    token = ApiToken.objects.get(user=users[role], name="deploy bot")
    secret = response.content.decode().split('id="new-token-secret">')[1].split("<")[0]
    assert selectors.api_token_lookup(secret) == token
    assert token.expires_at is not None
    assert secret not in client.get("/settings/tokens/").content.decode()
    assert ledger("api_token.created", org).filter(target_id=str(token.pk)).exists()


def test_token_role_ceiling_above_own_role_is_a_form_error(client_as, users):
    response = client_as("operator").post("/settings/tokens/", {"name": "too strong", "role": "admin"})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert not ApiToken.objects.filter(name="too strong").exists()


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("owner", {"viewer ci", "mgr ci"}),
        ("admin", {"viewer ci", "mgr ci"}),
        ("manager", {"mgr ci"}),
        ("viewer", {"viewer ci"}),
    ],
)
@pytest.mark.usefixtures("viewer_token")
def test_token_list_shows_own_tokens_or_all_with_token_manage(client_as, actor_as, role, visible):
    services.api_token_create(actor=actor_as("manager"), name="mgr ci")

    content = client_as(role).get("/settings/tokens/").content.decode()

    assert {name for name in ("viewer ci", "mgr ci") if name in content} == visible


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin", "viewer"}, ok=302))
def test_revoking_someone_elses_token_needs_token_manage(client_as, viewer_token, org, role, status):
    response = client_as(role).post(f"/settings/tokens/{viewer_token.pk}/revoke/")

    assert response.status_code == status
    viewer_token.refresh_from_db()
    assert (viewer_token.revoked_at is not None) is (status == 302)
    assert ledger("api_token.revoked", org).exists() is (status == 302)


def test_token_revoke_over_htmx_returns_the_row(client_as, viewer_token):
    response = client_as("viewer").post(f"/settings/tokens/{viewer_token.pk}/revoke/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert f'id="token-{viewer_token.pk}"' in response.content.decode()
    assert "revoked" in response.content.decode()


# --- members and invitations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "has_actions"), [("owner", True), ("admin", True), ("manager", False), ("viewer", False)]
)
def test_members_list_shows_actions_only_to_those_who_may_use_them(client_as, users, role, has_actions):
    content = client_as(role).get("/settings/members/").content.decode()

    for username in ROLES:
        assert username in content
    assert ("/settings/members/invite/" in content) is has_actions
    viewer_membership = users["viewer"].memberships.get()
    assert (f"/settings/members/{viewer_membership.pk}/role/" in content) is has_actions
    assert (f"/settings/members/{viewer_membership.pk}/remove/" in content) is has_actions


def test_admin_sees_no_controls_on_owner_rows(client_as, users):
    content = client_as("admin").get("/settings/members/").content.decode()

    owner_membership = users["owner"].memberships.get()
    assert f"/settings/members/{owner_membership.pk}/role/" not in content


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin"}))
def test_inviting_needs_member_invite(client_as, org, role, status):
    response = client_as(role).post(
        "/settings/members/invite/", {"email": "Fresh@Example.test", "role": "operator"}
    )

    assert response.status_code == status
    created = Invitation.objects.filter(organization=org, email="fresh@example.test")
    assert created.exists() is (status == 200)
    if status == 200:
        link = response.content.decode().split('id="invite-link">')[1].split("<")[0]
        token = link.rsplit("/invitations/", 1)[1].strip("/")
        assert selectors.invitation_by_token(token) == created.get()
        assert ledger("invitation.created", org).count() == 1


def test_inviting_an_existing_member_is_a_form_error(client_as, org):
    response = client_as("admin").post(
        "/settings/members/invite/", {"email": "viewer@example.test", "role": "viewer"}
    )

    assert response.status_code == 200
    assert "This person is already a member." in response.content.decode()
    assert not Invitation.objects.filter(organization=org).exists()


def test_admin_cannot_invite_an_owner(client_as, org):
    response = client_as("admin").post(
        "/settings/members/invite/", {"email": "boss@example.test", "role": "owner"}
    )

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert not Invitation.objects.filter(organization=org).exists()


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin"}, ok=302))
def test_changing_a_role_needs_member_manage(client_as, org, users, role, status):
    membership = users["viewer"].memberships.get()

    response = client_as(role).post(f"/settings/members/{membership.pk}/role/", {"role": "operator"})

    assert response.status_code == status
    membership.refresh_from_db()
    assert membership.role == (Role.OPERATOR if status == 302 else Role.VIEWER)
    assert ledger("member.role_changed", org).exists() is (status == 302)


def test_role_change_over_htmx_swaps_the_row(client_as, users):
    membership = users["viewer"].memberships.get()

    response = client_as("admin").post(
        f"/settings/members/{membership.pk}/role/", {"role": "manager"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="member-{membership.pk}">')
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


def test_last_owner_demoting_themselves_gets_a_message_not_a_500(client_as, users):
    membership = users["owner"].memberships.get()

    response = client_as("owner").post(
        f"/settings/members/{membership.pk}/role/", {"role": "admin"}, follow=True
    )

    assert response.status_code == 200
    assert "The last owner cannot be demoted" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_last_owner_error_over_htmx_stays_in_the_row(client_as, users):
    membership = users["owner"].memberships.get()

    response = client_as("owner").post(f"/settings/members/{membership.pk}/remove/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "The last owner cannot be removed." in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_admin_cannot_demote_an_owner_by_forced_post(client_as, users):
    membership = users["owner"].memberships.get()

    response = client_as("admin").post(f"/settings/members/{membership.pk}/role/", {"role": "viewer"})

    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_invalid_role_value_is_reported(client_as, users):
    membership = users["viewer"].memberships.get()

    response = client_as("owner").post(
        f"/settings/members/{membership.pk}/role/", {"role": "emperor"}, follow=True
    )

    assert response.status_code == 200
    assert "Choose a valid role." in response.content.decode()


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin"}, ok=302))
def test_removing_a_member_needs_member_manage(client_as, org, users, role, status):
    membership = MembershipFactory(organization=org, role=Role.VIEWER)

    response = client_as(role).post(f"/settings/members/{membership.pk}/remove/")

    assert response.status_code == status
    assert Membership.objects.filter(pk=membership.pk).exists() is (status != 302)
    assert ledger("member.removed", org).exists() is (status == 302)


def test_a_member_may_leave_on_their_own(client_as, org, users):
    membership = users["viewer"].memberships.get()

    response = client_as("viewer").post(f"/settings/members/{membership.pk}/remove/")

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert ledger("member.removed", org).get().actor_id == str(users["viewer"].pk)


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin"}, ok=302))
def test_revoking_an_invitation_needs_member_invite(client_as, org, pending_invitation, role, status):
    response = client_as(role).post(f"/settings/invitations/{pending_invitation.pk}/revoke/")

    assert response.status_code == status
    pending_invitation.refresh_from_db()
    assert (pending_invitation.revoked_at is not None) is (status == 302)
    assert ledger("invitation.revoked", org).exists() is (status == 302)


def test_invitation_revoke_over_htmx_removes_the_row(client_as, pending_invitation):
    response = client_as("admin").post(
        f"/settings/invitations/{pending_invitation.pk}/revoke/", HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert response.content == b""


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


# --- organization settings ----------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), expect({"owner", "admin"}, ok=302))
def test_organization_settings_need_organization_manage(client_as, org, role, status):
    response = client_as(role).post(
        "/settings/organization/",
        {"name": "Acme Corp", "time_zone": "Asia/Tokyo", "require_2fa_for_admins": "on"},
    )

    assert response.status_code == status
    org.refresh_from_db()
    changed = (org.name, org.time_zone, org.require_2fa_for_admins) == ("Acme Corp", "Asia/Tokyo", True)
    assert changed is (status == 302)
    assert ledger("organization.updated", org).exists() is (status == 302)


@pytest.mark.parametrize(("role", "has_form"), [("admin", True), ("manager", False), ("viewer", False)])
def test_organization_settings_form_only_for_managers(client_as, role, has_form):
    content = client_as(role).get("/settings/organization/").content.decode()

    assert ('name="require_2fa_for_admins"' in content) is has_form


def test_organization_bad_time_zone_is_a_form_error(client_as, org):
    response = client_as("owner").post(
        "/settings/organization/", {"name": "Acme", "time_zone": "Atlantis/Capital"}
    )

    assert response.status_code == 200
    org.refresh_from_db()
    assert org.time_zone == "UTC"


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
