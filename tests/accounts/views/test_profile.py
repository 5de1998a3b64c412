"""Profile and password pages: service errors as form errors, the session kept on a password change."""

import pytest

from tests.accounts.factories import PASSWORD
from tests.accounts.views.pages import ledger

pytestmark = pytest.mark.django_db


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
