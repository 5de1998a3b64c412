"""Demo single sign-on: each organization gets an example OpenID Connect provider, turned off, so the
settings page shows how one is filled in. Point it at a real issuer (``DEMO_OIDC_ISSUER``) and turn
it on to try it."""

import os

from opsplatform.accounts.models import IdentityProvider
from opsplatform.accounts.sso import providers
from opsplatform.core.actors import Actor
from opsplatform.core.capabilities import Role

NAME = "Company SSO (example)"


def seed_sign_in(org, people) -> IdentityProvider:
    existing = IdentityProvider.objects.filter(organization=org, name=NAME).first()
    if existing is not None:
        return existing
    return providers.identity_provider_create(
        actor=Actor.for_member(people[Role.OWNER], org, role=Role.OWNER),
        organization=org,
        name=NAME,
        issuer=os.environ.get("DEMO_OIDC_ISSUER", "https://login.example.com"),
        client_id="opsplatform-demo",
        allowed_domains=f"{org.slug}.example.com",
        role_claim="groups",
        role_mapping={"ops-admins": Role.ADMIN, "ops-oncall": Role.OPERATOR},
        default_role=Role.VIEWER,
        enabled=False,
    )
