"""The single sign-on settings page: admins add and edit providers (secret encrypted, kept when left
empty), owners alone turn "SSO required" on, and only with an enabled provider."""

import pytest

from opsplatform.accounts.models import IdentityProvider
from opsplatform.accounts.sso import providers
from tests.ledger import entries

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Okta",
    "issuer": "https://login.example.test",
    "client_id": "ops",
    "client_secret": "top-secret-value",
    "scopes": "openid email profile",
    "allowed_domains": "example.test, example.org",
    "role_claim": "groups",
    "role_mapping": '{"ops-admins": "admin"}',
    "default_role": "viewer",
    "jit_provisioning": "on",
    "enabled": "on",
}


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("manager", 403), ("admin", 200), ("owner", 200)]
)
def test_who_may_open_the_page(client_as, role, status):
    assert client_as(role).get("/settings/sso/").status_code == status


def test_admin_adds_a_provider_and_the_secret_is_kept_on_edit(client_as, org):
    client = client_as("admin")
    assert client.post("/settings/sso/", FORM).status_code == 302
    provider = IdentityProvider.objects.get(organization=org)
    assert provider.allowed_domains == ["example.org", "example.test"]
    assert provider.role_mapping == {"ops-admins": "admin"}
    assert "top-secret-value" not in provider.client_secret_sealed
    assert entries("sso.provider_created", target=provider).count() == 1

    page = client.get(f"/settings/sso/{provider.pk}/")
    assert page.status_code == 200 and b"top-secret-value" not in page.content
    assert (
        client.post(
            f"/settings/sso/{provider.pk}/", {**FORM, "client_secret": "", "name": "Okta EU"}
        ).status_code
        == 302
    )
    provider.refresh_from_db()
    assert provider.name == "Okta EU" and providers.client_secret(provider) == "top-secret-value"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"issuer": "http://login.example.test"}, "issuer"),
        ({"role_mapping": '{"x": "owner"}'}, "role_mapping"),
        ({"scopes": "email"}, "scopes"),
        ({"role_mapping": "not json"}, "role_mapping"),
    ],
)
def test_bad_input_is_a_form_error(client_as, org, settings, change, field):
    settings.SSO_ALLOW_HTTP_ISSUERS = False
    response = client_as("admin").post("/settings/sso/", {**FORM, **change})
    assert response.status_code == 400 and field in response.context["form"].errors
    assert not IdentityProvider.objects.exists()


def test_another_organizations_provider_is_a_404(client_as, other_org, outsider):
    from opsplatform.core.actors import Actor

    foreign = providers.identity_provider_create(
        actor=Actor.for_member(outsider, other_org),
        organization=other_org,
        name="Theirs",
        issuer="https://idp.globex.test",
        client_id="globex",
    )
    assert client_as("owner").get(f"/settings/sso/{foreign.pk}/").status_code == 404


def test_only_owners_require_sso_and_only_with_a_provider(client_as, org):
    assert client_as("admin").post("/settings/sso/required/", {"required": "1"}).status_code == 403
    owner = client_as("owner")
    owner.post("/settings/sso/required/", {"required": "1"})
    org.refresh_from_db()
    assert org.sso_required is False  # no provider yet

    owner.post("/settings/sso/", FORM)
    owner.post("/settings/sso/required/", {"required": "1"})
    org.refresh_from_db()
    assert org.sso_required is True
    assert entries("sso.required_changed", target=org).get().data == {"required": True}
