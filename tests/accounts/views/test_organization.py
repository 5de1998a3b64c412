"""The organization settings page."""

import pytest

from tests.accounts.views.pages import expect, ledger

pytestmark = pytest.mark.django_db


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
