"""API token pages: the secret shown once, who sees and revokes which token."""

import pytest

from opsplatform.accounts import selectors, services
from opsplatform.accounts.models import ApiToken
from tests.accounts.views.pages import ROLES, expect, ledger

pytestmark = pytest.mark.django_db


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


def test_empty_token_list_says_what_to_do_and_the_form_is_a_dialog(client_as):
    content = client_as("operator").get("/settings/tokens/").content.decode()

    assert "No tokens yet" in content
    assert 'data-dialog="new-token"' in content and '<dialog id="new-token" class="dialog" ' in content

    response = client_as("operator").post("/settings/tokens/", {"name": "", "role": "", "expires_in": ""})
    assert '<dialog id="new-token" class="dialog" data-open' in response.content.decode()
    assert not ApiToken.objects.exists()
