"""Single sign-on against a real OpenID provider on loopback: PKCE, state and nonce, ID tokens
verified against its JWKS (with key rotation), JIT provisioning, linking, role mapping, refusals."""

import httpx
import pytest
from django.test import Client, override_settings

from opsplatform.accounts.models import ExternalIdentity, Membership, User
from opsplatform.accounts.sso import providers
from opsplatform.core.capabilities import Role
from tests.accounts.factories import PASSWORD, MembershipFactory, UserFactory
from tests.accounts.sso.oidc_provider import new_key
from tests.ledger import entries

pytestmark = pytest.mark.django_db


def signed_in(client):
    return client.session.get("_auth_user_id")


def test_first_sign_in_provisions_the_person_with_the_mapped_role(client, org, provider, idp, sso_sign_in):
    idp.user["groups"] = ["staff", "ops-oncall"]

    response = sso_sign_in(provider)

    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email="casey@example.test")
    assert signed_in(client) == str(user.pk) and user.display_name == "Casey Jones"
    assert not user.has_usable_password()
    assert Membership.objects.get(organization=org, user=user).role == Role.OPERATOR
    assert ExternalIdentity.objects.get(provider=provider).user == user
    assert entries("auth.sso_provisioned", target=user).get().organization_id == org.pk
    assert entries("auth.login", target=user).get().data["method"] == "sso"
    assert client.get("/").status_code == 200
    # The authorization request carried state, nonce and an S256 challenge; the token request the verifier.
    [asked] = idp.authorize_requests
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert idp.token_requests[0]["form"]["code_verifier"]


def test_client_secret_is_encrypted_at_rest(provider, idp):
    assert idp.client_secret not in provider.client_secret_sealed
    assert providers.client_secret(provider) == idp.client_secret


def test_existing_account_is_linked_by_verified_email(client, org, provider, idp, sso_sign_in):
    casey = MembershipFactory(organization=org, role=Role.MANAGER, user__email="Casey@example.test").user

    assert sso_sign_in(provider).status_code == 302
    assert signed_in(client) == str(casey.pk)
    assert entries("auth.sso_linked", target=casey).count() == 1
    assert User.objects.filter(email__iexact="casey@example.test").count() == 1
    # The default role does not demote a member whose groups map to nothing.
    assert Membership.objects.get(user=casey).role == Role.MANAGER

    client.post("/accounts/logout/")
    assert signed_in(client) is None
    idp.user["email"] = "casey.renamed@example.test"
    assert sso_sign_in(provider).status_code == 302
    assert signed_in(client) == str(casey.pk)  # found by its subject now, not the address
    assert entries("auth.sso_linked", target=casey).count() == 1


def test_role_follows_the_claim_at_each_sign_in_but_never_an_owners(
    client, org, users, provider, idp, sso_sign_in
):
    idp.user["groups"] = ["ops-admins"]
    sso_sign_in(provider)
    user = User.objects.get(email="casey@example.test")
    assert Membership.objects.get(user=user).role == Role.ADMIN

    idp.user["groups"] = ["ops-oncall"]
    sso_sign_in(provider, browser=Client())
    assert Membership.objects.get(user=user).role == Role.OPERATOR
    assert entries("membership.role_synced", target=user).get().data == {
        "from": "admin",
        "to": "operator",
        "provider": provider.pk,
    }

    owner = users["owner"]
    idp.user = {"sub": "owner-sub", "email": owner.email, "email_verified": True, "groups": []}
    sso_sign_in(provider, browser=Client())
    assert Membership.objects.get(user=owner, organization=org).role == Role.OWNER


def test_unverified_email_is_refused(client, org, provider, idp, sso_sign_in):
    idp.user["email_verified"] = False

    response = sso_sign_in(provider)

    assert response.status_code == 403 and b"not verified your e-mail" in response.content
    assert signed_in(client) is None and not User.objects.filter(email="casey@example.test").exists()
    assert entries("auth.sso_refused", target=provider).get().data["reason"] == "email_unverified"


def test_address_outside_allowed_domains_is_refused(client, provider, idp, sso_sign_in):
    idp.user["email"] = "mallory@elsewhere.test"

    response = sso_sign_in(provider)

    assert response.status_code == 403 and b"not in a domain" in response.content
    assert signed_in(client) is None
    refused = entries("auth.sso_refused", target=provider).get().data
    # The ledger cannot forget: a stranger's address is kept only as a hint.
    assert refused["reason"] == "domain_not_allowed" and refused["email"] == "m…@elsewhere.test"


def test_token_signed_with_an_unpublished_key_is_refused(client, provider, idp, sso_sign_in):
    idp.forge = new_key("key-1")  # the published key's id, someone else's key

    response = sso_sign_in(provider)

    assert response.status_code == 400 and b"could not be verified" in response.content
    assert signed_in(client) is None and not ExternalIdentity.objects.exists()
    assert entries("auth.sso_refused", target=provider).get().data["reason"] == "bad_signature"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"nonce": "not-the-nonce"}, "bad_nonce"),
        ({"aud": "another-client"}, "bad_claims"),
        ({"iss": "https://impostor.example"}, "bad_claims"),
        ({"exp": 1_000_000}, "token_expired"),
    ],
)
def test_tokens_not_meant_for_this_sign_in_are_refused(client, provider, idp, sso_sign_in, override, reason):
    idp.override = override

    response = sso_sign_in(provider)

    assert response.status_code == 400
    assert signed_in(client) is None and not User.objects.filter(email="casey@example.test").exists()
    assert entries("auth.sso_refused", target=provider).get().data["reason"] == reason


def test_rotated_keys_are_fetched_again(client, provider, idp, sso_sign_in):
    assert sso_sign_in(provider).status_code == 302
    assert idp.jwks_fetches == 1
    idp.rotate()

    other = Client()
    assert sso_sign_in(provider, browser=other).status_code == 302
    assert signed_in(other) == signed_in(client)
    assert idp.jwks_fetches == 2

    third = Client()
    assert sso_sign_in(provider, browser=third).status_code == 302
    assert idp.jwks_fetches == 2  # the new set is cached


def test_callback_with_another_state_is_refused(client, provider, idp):
    start = client.get(f"/accounts/sso/{provider.organization.slug}/{provider.slug}/")
    back = httpx.URL(httpx.get(start["Location"], follow_redirects=False).headers["Location"])
    code = dict(back.params)["code"]

    response = client.get(f"/accounts/sso/callback/?code={code}&state=forged")

    assert response.status_code == 400 and signed_in(client) is None
    assert entries("auth.sso_refused", target=provider).get().data["reason"] == "bad_state"
    # The flow is gone: the real state cannot be tried afterwards either.
    assert client.get(f"{back.path}?{back.query.decode()}").status_code == 400


def test_callback_in_a_browser_that_did_not_start_is_refused(provider, idp):
    start = Client().get(f"/accounts/sso/{provider.organization.slug}/{provider.slug}/")
    back = httpx.URL(httpx.get(start["Location"], follow_redirects=False).headers["Location"])

    other = Client()
    response = other.get(f"{back.path}?{back.query.decode()}")

    assert response.status_code == 400 and b"another browser" in response.content
    assert signed_in(other) is None


def test_provider_saying_no_is_a_clear_page(client, provider, idp):
    client.get(f"/accounts/sso/{provider.organization.slug}/{provider.slug}/")
    state = client.session["sso_flow"]["state"]

    response = client.get(f"/accounts/sso/callback/?error=access_denied&state={state}")

    assert response.status_code == 403 and signed_in(client) is None
    assert entries("auth.sso_refused", target=provider).get().data["reason"] == "provider_error:access_denied"


def test_unreachable_provider_is_a_clear_page(client, provider, idp):
    idp.server.shutdown()
    idp.server.server_close()

    response = client.get(f"/accounts/sso/{provider.organization.slug}/{provider.slug}/")

    assert response.status_code == 502 and b"could not be reached" in response.content


def test_ssrf_guard_refuses_loopback_outside_tests(client, provider, idp):
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=[]):
        response = client.get(f"/accounts/sso/{provider.organization.slug}/{provider.slug}/")

    assert response.status_code == 502
    assert idp.authorize_requests == [] and idp.jwks_fetches == 0


def test_unknown_organization_or_provider_is_a_404_page(client, provider):
    assert client.get("/accounts/sso/nope/").status_code == 404
    assert client.get(f"/accounts/sso/{provider.organization.slug}/nope/").status_code == 404
    assert client.get("/accounts/sso/callback/").status_code == 400


def test_without_jit_provisioning_strangers_are_refused(client, org, users, provider, idp, sso_sign_in):
    providers.identity_provider_update(
        actor=__import__("opsplatform.core.actors", fromlist=["Actor"]).Actor.for_member(users["admin"], org),
        provider=provider,
        jit_provisioning=False,
    )

    response = sso_sign_in(provider)

    assert response.status_code == 403 and b"no account here" in response.content
    assert entries("auth.sso_refused", target=provider).get().data["reason"] == "no_account"


def test_sso_required_members_use_the_provider_owners_keep_their_password(
    client, org, users, provider, idp, sso_sign_in
):
    org.sso_required = True
    org.save()
    operator = users["operator"]
    refused = Client().post("/accounts/login/", {"username": "operator", "password": PASSWORD})
    assert refused.status_code == 403
    assert Client().post("/accounts/login/", {"username": "owner", "password": PASSWORD}).status_code == 302

    idp.user = {"sub": "op-sub", "email": operator.email, "email_verified": True, "groups": ["ops-oncall"]}
    assert sso_sign_in(provider).status_code == 302
    assert signed_in(client) == str(operator.pk)


def test_logout_ends_the_local_session(client, provider, sso_sign_in):
    sso_sign_in(provider)
    assert client.get("/").status_code == 200

    client.post("/accounts/logout/")

    assert signed_in(client) is None
    assert client.get("/").status_code == 302


def test_a_second_factor_still_applies(client, org, provider, idp, sso_sign_in):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    casey = UserFactory(email="casey@example.test")
    MembershipFactory(organization=org, user=casey, role=Role.VIEWER)
    TOTPDevice.objects.create(user=casey, name="Authenticator app", confirmed=True)

    response = sso_sign_in(provider)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/verify/")
