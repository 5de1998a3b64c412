import httpx
import pytest
from django.core.cache import cache
from django.test import override_settings

from opsplatform.accounts.sso import providers
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role
from tests.accounts.sso.oidc_provider import oidc_provider


@pytest.fixture(autouse=True)
def fresh_cache():
    # Discovery documents and keys are cached in Redis under the run's prefix.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def idp():
    # The guard lets loopback through only here: production settings refuse it.
    with (
        oidc_provider() as provider,
        override_settings(OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"], SITE_URL="http://testserver"),
    ):
        provider.user = {
            "sub": "idp-user-1",
            "email": "casey@example.test",
            "email_verified": True,
            "name": "Casey Jones",
            "groups": ["staff"],
        }
        yield provider


@pytest.fixture
def provider(org, users, idp):
    return providers.identity_provider_create(
        actor=Actor.for_member(users["admin"], org, role=Role.ADMIN),
        organization=org,
        name="Example IdP",
        issuer=idp.issuer,
        client_id=idp.client_id,
        client_secret=idp.client_secret,
        allowed_domains="example.test",
        role_claim="groups",
        role_mapping={"ops-admins": "admin", "ops-oncall": "operator"},
        default_role=Role.VIEWER,
    )


@pytest.fixture
def sso_sign_in(client):
    """Sign in through the provider the way a browser does: our redirect, the provider's
    authorize endpoint (which redirects back), our callback. Returns the callback's response."""

    def run(provider, browser=None):
        browser = browser or client
        start = browser.get(f"/accounts/sso/{provider.organization.slug}/{provider.slug}/")
        assert start.status_code == 302, start.content
        authorize = httpx.get(start["Location"], follow_redirects=False)
        assert authorize.status_code == 302, authorize.text
        back = httpx.URL(authorize.headers["Location"])
        assert back.path == "/accounts/sso/callback/"
        return browser.get(f"{back.path}?{back.query.decode()}")

    return run
