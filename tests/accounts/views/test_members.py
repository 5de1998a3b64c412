"""Members and invitations pages: capability-guarded actions, HTMX rows, refusals as messages."""

import pytest

from opsplatform.accounts import selectors
from opsplatform.accounts.models import Invitation, Membership
from opsplatform.core.capabilities import Role
from tests.accounts.factories import MembershipFactory
from tests.accounts.views.pages import ROLES, expect, ledger

pytestmark = pytest.mark.django_db


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
    assert ledger("invitation.created", org).exists() is (status == 200)


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
    assert not ledger("member.role_changed", membership.organization).exists()


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


# --- the row menu and the invite dialog ---------------------------------------------------------


def _row(content: str, membership) -> str:
    start = content.index(f'<tr id="member-{membership.pk}">')
    return content[start : content.index("</tr>", start)]


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_row_actions_live_in_a_menu_and_never_on_ones_own_row(client_as, users, role):
    content = client_as(role).get("/settings/members/").content.decode()

    own = _row(content, users[role].memberships.get())
    assert 'class="menu"' not in own
    assert "/role/" not in own and "/remove/" not in own
    viewer = _row(content, users["viewer"].memberships.get())
    assert '<details class="menu">' in viewer
    assert 'name="role" value="operator"' in viewer  # one menu item per other role
    assert 'name="role" value="viewer"' not in viewer  # not the role it already has
    assert "Remove from organization" in viewer
    assert 'class="danger">Remove' not in content.split("<tbody>")[0]  # no red button in the header


def test_invite_form_is_a_dialog_that_reopens_with_its_errors(client_as, org):
    page = client_as("admin").get("/settings/members/").content.decode()
    assert 'data-dialog="invite-dialog"' in page
    assert '<dialog id="invite-dialog" class="dialog" ' in page
    assert 'id="invite-dialog" class="dialog" data-open' not in page

    response = client_as("admin").post(
        "/settings/members/invite/", {"email": "viewer@example.test", "role": "viewer"}
    )

    content = response.content.decode()
    assert 'id="invite-dialog" class="dialog" data-open' in content
    assert "This person is already a member." in content
